package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/policy"
	"github.com/cilium-docker/cilium-docker/policycheck"
	"github.com/cilium-docker/cilium-docker/policystore"
	"github.com/cilium-docker/cilium-docker/policysync"
)

// version is set at build time with -ldflags "-X main.version=...", as the plugin's.
var version = "dev"

// viaPlugin is the argv[0] the plugin gives this binary when it runs it for `cilium-docker policy`.
const viaPlugin = "cilium-docker policy"

// progName is how the user called the commands, for usage and errors.
func progName(argv0 string) string {
	if argv0 == viaPlugin {
		return viaPlugin
	}
	return policycheck.Binary
}

// maxPolicyFile caps one policy file.
const maxPolicyFile = 1 << 20

const policyUsage = `usage: %[1]s COMMAND [flags] [ARGS]

Policies for every node of the cluster, kept in the cluster's etcd and written by each node's plugin
into its cilium-agent's static policy directory (--static-cnp-path). cilium-docker-policy and
'cilium-docker policy' are the same commands.

commands:
  check FILE...    check policy files with Cilium's own parser and the agent's rules (- reads stdin)
  apply FILE...    check, then store each policy in etcd (--local: write to this node's directory only)
  delete NAME...   remove policies (NAME, or NAMESPACE/NAME for a CiliumNetworkPolicy)
  list             every policy with its revision, and which revision each node applied, or its error
  get NAME         one policy's document and its nodes
  sync             keep --policy-dir equal to etcd (the plugin does it itself with --policy-dir)
  check-stored     the plugin's policy sync: stored documents as JSON on stdin, verdicts on stdout
  version

Run '%[1]s COMMAND --help' for a command's flags. Exit codes: 0 ok, 1 refused or failed, 2 usage.
`

// usageError is a command line the command cannot run: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// refusedError is input the command refused (a bad policy): exit code 1, already reported.
type refusedError struct{ n int }

func (e *refusedError) Error() string { return fmt.Sprintf("%d refused", e.n) }

// exitCode maps run's error to the process's exit code.
func exitCode(err error) int {
	var u *usageError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

type policyCmd struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	json           bool
	etcd           cliflags.Etcd
	local          bool
	dir            string
	cluster        string
	legacy         bool
	node           string
}

// run runs one policy command; prog is how the user called it (progName).
func run(ctx context.Context, prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stdout, policyUsage, prog)
		if len(args) == 0 {
			return &usageError{errors.New("no command")}
		}
		return nil
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, policycheck.Binary, version)
		return nil
	case policycheck.Command:
		if len(args) > 1 {
			return &usageError{fmt.Errorf("%s: unexpected argument %q", policycheck.Command, args[1])}
		}
		return policycheck.Serve(stdin, stdout, policy.CheckStored)
	}
	c := &policyCmd{stdin: stdin, stdout: stdout, stderr: stderr}
	name, args := args[0], args[1:]
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&c.json, "json", false, "print JSON")
	var do func(context.Context, []string) error
	var argsUsage string
	switch name {
	case "check":
		c.checkFlags(fs)
		do, argsUsage = c.check, "FILE..."
	case "apply":
		c.checkFlags(fs)
		c.localFlags(fs)
		c.etcd.Register(fs)
		do, argsUsage = c.apply, "FILE..."
	case "delete":
		c.localFlags(fs)
		c.etcd.Register(fs)
		do, argsUsage = c.delete, "NAME..."
	case "list":
		c.localFlags(fs)
		c.etcd.Register(fs)
		do = c.list
	case "get":
		c.etcd.Register(fs)
		do, argsUsage = c.get, "NAME"
	case "sync":
		c.etcd.Register(fs)
		fs.StringVar(&c.dir, "policy-dir", "", "the agent's static policy directory (--static-cnp-path)")
		fs.StringVar(&c.node, "node-name", cliflags.DefaultNodeName(), "this node's name in the status keys")
		fs.StringVar(&c.cluster, "cluster-name", policy.DefaultCluster, "the agent's --cluster-name")
		do = c.sync
	default:
		fmt.Fprintf(stderr, policyUsage, prog)
		return &usageError{fmt.Errorf("unknown command %q", name)}
	}
	fs.Usage = func() { // to stdout: --help is asked for; a parse error has gone to stderr before it
		fmt.Fprintf(stdout, "usage: %s %s [flags] %s\n", prog, name, argsUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err}
	}
	if err := cliflags.ApplyEnv(fs); err != nil {
		return &usageError{err}
	}
	switch {
	case argsUsage == "" && fs.NArg() > 0:
		return &usageError{fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))}
	case argsUsage == "NAME" && fs.NArg() != 1, argsUsage != "" && fs.NArg() == 0:
		fs.Usage()
		return &usageError{fmt.Errorf("%s: want %s", name, argsUsage)}
	}
	if c.local && c.dir == "" {
		return &usageError{fmt.Errorf("%s --local: want --policy-dir", name)}
	}
	if name == "sync" && c.dir == "" {
		return &usageError{errors.New("sync: want --policy-dir")}
	}
	return do(ctx, fs.Args())
}

func (c *policyCmd) checkFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.cluster, "cluster-name", policy.DefaultCluster, "the agent's --cluster-name, for the selectors Cilium rewrites")
	fs.BoolVar(&c.legacy, "legacy-selectors", false,
		"accept peer selectors that require the namespace or cluster label not to exist (for plugins run with --k8s-identity-labels=false)")
}

func (c *policyCmd) localFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.local, "local", false, "this node only: the agent's directory (--policy-dir), no etcd")
	fs.StringVar(&c.dir, "policy-dir", "", "the agent's static policy directory (--static-cnp-path), for --local")
}

// checkResult is one file's outcome.
type checkResult struct {
	File      string            `json:"file"`
	Documents []policy.Document `json:"documents,omitempty"`
	Error     string            `json:"error,omitempty"`
}

// checkFiles checks every file; refused counts the files refused.
func (c *policyCmd) checkFiles(files []string) (results []checkResult, refused int, err error) {
	for _, f := range files {
		r := checkResult{File: f}
		data, rerr := c.readPolicyFile(f)
		if rerr == nil {
			name := filepath.Base(f)
			if f == "-" {
				name = "stdin"
			}
			r.Documents, rerr = policy.Check(name, data, c.cluster)
		}
		switch {
		case rerr == nil && !c.legacy:
			for _, d := range r.Documents {
				if len(d.Legacy) > 0 {
					rerr = fmt.Errorf("%s %q: peer selectors require the namespace or cluster label not to exist, so they match "+
						"no container under the plugin's Kubernetes identity labels: %s (rewrite below; --legacy-selectors "+
						"accepts them for plugins run with --k8s-identity-labels=false)", d.Kind, d.Key(), strings.Join(d.Legacy, "; "))
				}
			}
		case rerr != nil && !policy.IsRefusal(rerr):
			return nil, 0, fmt.Errorf("%s: %w", f, rerr)
		}
		if rerr != nil {
			r.Error = rerr.Error()
			refused++
		}
		results = append(results, r)
	}
	return results, refused, nil
}

func (c *policyCmd) readPolicyFile(f string) ([]byte, error) {
	if f == "-" {
		return policy.ReadAll(c.stdin, maxPolicyFile)
	}
	fh, err := os.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return policy.ReadAll(fh, maxPolicyFile)
}

func (c *policyCmd) report(results []checkResult, verb string) {
	if c.json {
		return
	}
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(c.stdout, "refused  %s: %s\n", r.File, r.Error)
			for _, d := range r.Documents {
				if d.Rewrite != "" {
					fmt.Fprintf(c.stdout, "# rewrite of %s (%s):\n%s", d.Key(), r.File, d.Rewrite)
				}
			}
			continue
		}
		for _, d := range r.Documents {
			fmt.Fprintf(c.stdout, "%-8s %s: %s %s\n", verb, r.File, d.Kind, d.Key())
			for _, w := range d.Warnings {
				fmt.Fprintf(c.stdout, "  warning: %s\n", w)
			}
			if len(d.Legacy) > 0 {
				fmt.Fprintf(c.stdout, "  warning: legacy selectors accepted: %s\n", strings.Join(d.Legacy, "; "))
			}
		}
	}
}

func (c *policyCmd) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (c *policyCmd) check(_ context.Context, files []string) error {
	results, refused, err := c.checkFiles(files)
	if err != nil {
		return err
	}
	c.report(results, "ok")
	if c.json {
		if err := c.printJSON(results); err != nil {
			return err
		}
	}
	if refused > 0 {
		return &refusedError{refused}
	}
	return nil
}

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
		d := policysync.Dir{Path: c.dir, Owner: policysync.Local}
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

func (c *policyCmd) open() (*policystore.Store, error) {
	if !c.etcd.Set() {
		return nil, &usageError{errors.New("no etcd: set --etcd-endpoints or --etcd-config (CILIUM_DOCKER_ETCD_ENDPOINTS), or use --local")}
	}
	cfg, err := c.etcd.StoreConfig()
	if err != nil {
		return nil, &usageError{err}
	}
	return policystore.Open(cfg)
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
		d := policysync.Dir{Path: c.dir, Owner: policysync.Local}
		owned, err := d.Owned()
		if err != nil {
			return err
		}
		for _, n := range names {
			f, err := d.FileName(n)
			if err != nil {
				return &usageError{err}
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

func (c *policyCmd) collect(ctx context.Context, st *policystore.Store, only string) ([]listed, []policystore.NodeStatus, error) {
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
		d := policysync.Dir{Path: c.dir, Owner: policysync.Local}
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

func (c *policyCmd) sync(ctx context.Context, _ []string) error {
	st, err := c.open()
	if err != nil {
		return err
	}
	defer st.Close()
	l := logrus.New()
	l.SetOutput(c.stderr)
	log := logrus.NewEntry(l).WithField("subsys", "policy-sync")
	cluster := c.cluster
	s := policysync.New(log, st, policycheck.Local(policy.CheckStored), c.dir,
		policysync.Options{Node: c.node, Cluster: func(context.Context) string { return cluster }})
	log.WithFields(map[string]any{"dir": c.dir, "node": c.node}).Info("policy sync starting")
	return s.Run(ctx)
}
