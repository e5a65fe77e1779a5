package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cilium-docker/cilium-docker/policy/dirsync"
	"github.com/cilium-docker/cilium-docker/policy/store"
)

// applied is one stored policy.
type applied struct {
	Key      string `json:"key"`
	File     string `json:"file"`
	Revision int64  `json:"revision,omitempty"`
	Path     string `json:"path,omitempty"` // --local
}

func (c *policyCmd) apply(ctx context.Context, files []string) error {
	results, refused, err := c.checkFiles(files)
	if err != nil {
		return err
	}
	if refused > 0 { // all or nothing
		c.report(results, "ok")
		if c.json {
			_ = c.printJSON(map[string]any{"refused": results})
		}
		return &refusedError{refused}
	}
	var out []applied
	if c.local {
		d := dirsync.Dir{Path: c.dir, Owner: dirsync.Local}
		for _, r := range results {
			for _, doc := range r.Documents {
				name, err := d.FileName(doc.Key())
				if err == nil {
					err = d.Write(name, doc.YAML)
				}
				if err != nil {
					return err
				}
				out = append(out, applied{Key: doc.Key(), File: r.File, Path: filepath.Join(c.dir, name)})
			}
		}
	} else {
		st, err := c.open()
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range results {
			for _, doc := range r.Documents {
				rev, err := st.Put(ctx, doc.Key(), doc.YAML)
				if err != nil {
					return err
				}
				out = append(out, applied{Key: doc.Key(), File: r.File, Revision: rev})
			}
		}
	}
	if c.json {
		return c.printJSON(out)
	}
	for _, a := range out {
		if a.Path != "" {
			fmt.Fprintf(c.stdout, "applied  %s: %s (written to %s)\n", a.File, a.Key, a.Path)
		} else {
			fmt.Fprintf(c.stdout, "applied  %s: %s revision %d\n", a.File, a.Key, a.Revision)
		}
	}
	return nil
}

func (c *policyCmd) open() (*store.Store, error) {
	if !c.etcd.Set() {
		return nil, usage(errors.New("no etcd: set --etcd-endpoints or --etcd-config (CILIUM_DOCKER_ETCD_ENDPOINTS), or use --local"))
	}
	cfg, err := storeConfig(&c.etcd)
	if err != nil {
		return nil, usage(err)
	}
	return store.Open(cfg)
}

func (c *policyCmd) delete(ctx context.Context, names []string) error {
	type deleted struct {
		Key      string `json:"key"`
		Found    bool   `json:"found"`
		Revision int64  `json:"revision,omitempty"`
	}
	var out []deleted
	missing := 0
	if c.local {
		d := dirsync.Dir{Path: c.dir, Owner: dirsync.Local}
		owned, err := d.Owned()
		if err != nil {
			return err
		}
		for _, n := range names {
			f, err := d.FileName(n)
			if err != nil {
				return usage(err)
			}
			_, found := owned[f]
			if err := d.Remove(f); err != nil {
				return err
			}
			out = append(out, deleted{Key: n, Found: found})
		}
	} else {
		st, err := c.open()
		if err != nil {
			return err
		}
		defer st.Close()
		for _, n := range names {
			found, rev, err := st.Delete(ctx, n)
			if err != nil {
				return err
			}
			out = append(out, deleted{Key: n, Found: found, Revision: rev})
		}
	}
	for _, d := range out {
		if !d.Found {
			missing++
		}
	}
	if c.json {
		if err := c.printJSON(out); err != nil {
			return err
		}
	} else {
		for _, d := range out {
			if d.Found {
				fmt.Fprintf(c.stdout, "deleted  %s revision %d\n", d.Key, d.Revision)
			} else {
				fmt.Fprintf(c.stdout, "missing  %s: no such policy\n", d.Key)
			}
		}
	}
	if missing > 0 {
		return &refusedError{missing}
	}
	return nil
}

// listed is one policy with each node's view of it.
type listed struct {
	Key      string         `json:"key"`
	Revision int64          `json:"revision"`
	Nodes    []nodeOfPolicy `json:"nodes"`
	YAML     string         `json:"yaml,omitempty"`
	Path     string         `json:"path,omitempty"`
}

type nodeOfPolicy struct {
	Node     string `json:"node"`
	Revision int64  `json:"revision,omitempty"` // the revision in force there
	Error    string `json:"error,omitempty"`
	Pending  bool   `json:"pending,omitempty"` // the node has not seen the policy's revision yet
}

func (c *policyCmd) collect(ctx context.Context, st *store.Store, only string) ([]listed, []store.NodeStatus, error) {
	pols, _, err := st.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	nodes, err := st.Statuses(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []listed
	for _, p := range pols {
		if only != "" && p.Key != only {
			continue
		}
		l := listed{Key: p.Key, Revision: p.Revision}
		for _, n := range nodes {
			v := nodeOfPolicy{Node: n.Node, Revision: n.Applied[p.Key], Error: n.Errors[p.Key]}
			v.Pending = n.Revision < p.Revision
			l.Nodes = append(l.Nodes, v)
		}
		if only != "" {
			l.YAML = p.YAML
		}
		out = append(out, l)
	}
	return out, nodes, nil
}

func (c *policyCmd) list(ctx context.Context, _ []string) error {
	if c.local {
		d := dirsync.Dir{Path: c.dir, Owner: dirsync.Local}
		owned, err := d.Owned()
		if err != nil {
			return err
		}
		var out []listed
		for f := range owned {
			k, _ := d.KeyOf(f)
			out = append(out, listed{Key: k, Path: filepath.Join(c.dir, f)})
		}
		if c.json {
			return c.printJSON(out)
		}
		for _, l := range out {
			fmt.Fprintf(c.stdout, "%s\t%s\n", l.Key, l.Path)
		}
		return nil
	}
	st, err := c.open()
	if err != nil {
		return err
	}
	defer st.Close()
	out, nodes, err := c.collect(ctx, st, "")
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"policies": out, "nodes": nodes})
	}
	fmt.Fprintf(c.stdout, "%-40s %9s  %s\n", "POLICY", "REVISION", "NODES")
	for _, l := range out {
		fmt.Fprintf(c.stdout, "%-40s %9d  %s\n", l.Key, l.Revision, nodeSummary(l.Nodes))
	}
	for _, n := range nodes {
		v := n.AgentVersion
		if v == "" {
			v = "unknown"
		}
		fmt.Fprintf(c.stdout, "node %s: agent %s, revision %d, updated %s\n", n.Node, v, n.Revision, n.Updated.Format(time.RFC3339))
		if n.Error != "" {
			fmt.Fprintf(c.stdout, "node %s: %s\n", n.Node, n.Error)
		}
	}
	return nil
}

func nodeSummary(ns []nodeOfPolicy) string {
	if len(ns) == 0 {
		return "(no node has reported)"
	}
	var parts []string
	for _, n := range ns {
		s := fmt.Sprintf("%s=%d", n.Node, n.Revision)
		switch {
		case n.Error != "":
			s = fmt.Sprintf("%s=error(%s)", n.Node, n.Error)
		case n.Pending:
			s += "(pending)"
		case n.Revision == 0:
			s = n.Node + "=none"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func (c *policyCmd) get(ctx context.Context, names []string) error {
	st, err := c.open()
	if err != nil {
		return err
	}
	defer st.Close()
	out, _, err := c.collect(ctx, st, names[0])
	if err != nil {
		return err
	}
	if len(out) == 0 {
		fmt.Fprintf(c.stderr, "no such policy: %s\n", names[0])
		return &refusedError{1}
	}
	if c.json {
		return c.printJSON(out[0])
	}
	fmt.Fprintf(c.stdout, "# %s revision %d; nodes: %s\n%s", out[0].Key, out[0].Revision, nodeSummary(out[0].Nodes), out[0].YAML)
	return nil
}
