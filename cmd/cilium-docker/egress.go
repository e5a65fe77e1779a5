package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/labels"
)

// The policies of containers' allow-list labels (driver.EgressPolicies) travel as every other policy
// does: the daemon builds the document (egress/, standard library only) and runs
// `cilium-docker-policy apply -` with it, which checks it with Cilium's parser and stores it in etcd;
// the node's policy sync, the daemon's child, writes it into the agent's directory. The daemon links
// neither the parser nor the etcd client (DESIGN.md, "Two binaries").

// egressSyncWait bounds the wait for the node's policy sync to write a stored allow-list: the
// container does not start before its policy is in the agent's directory.
const egressSyncWait = 30 * time.Second

// egressPolicies is driver.EgressPolicies over the policy binary: in etcd, written into the directory by
// the node's policy sync, or, with no sync (no etcd), into the node's directory at once (apply --local).
type egressPolicies struct {
	bin     string
	cfg     *Config
	cluster func(context.Context) (string, error) // the agent's cluster name
	sync    *policySync                           // nil: the node's directory only
}

func newEgressPolicies(bin string, cfg *Config, ag *agent.Cached, sync *policySync) *egressPolicies {
	return &egressPolicies{bin: bin, cfg: cfg, sync: sync, cluster: func(ctx context.Context) (string, error) {
		c, err := ag.Config(ctx)
		if err != nil {
			return "", err
		}
		return c.ClusterName, nil
	}}
}

// where is the policy binary's flags for the store: etcd, or the node's directory.
func (e *egressPolicies) where() []string {
	if e.sync == nil {
		return []string{"--local", "--policy-dir=" + e.cfg.PolicyDir}
	}
	return e.cfg.Etcd.Args()
}

// Apply stores doc and, in etcd, waits until the node's sync has written that revision.
func (e *egressPolicies) Apply(ctx context.Context, name, doc string) error {
	cluster, err := e.cluster(ctx)
	if err != nil {
		return fmt.Errorf("the agent's cluster name: %w", err)
	}
	args := append([]string{"apply", "--json", "--cluster-name=" + cluster}, e.where()...)
	out, err := e.run(ctx, strings.NewReader(doc), append(args, "-")...)
	if err != nil {
		return refusal(out, err)
	}
	var applied []struct {
		Key      string `json:"key"`
		Revision int64  `json:"revision"`
	}
	if err := json.Unmarshal(out, &applied); err != nil || len(applied) != 1 || applied[0].Key != name {
		return fmt.Errorf("policy %s: cilium-docker-policy apply answered %q", name, out)
	}
	if e.sync == nil {
		return nil // written into the directory already
	}
	return e.synced(ctx, name, applied[0].Revision)
}

// synced waits until the node's policy sync reports a pass at rev or later.
func (e *egressPolicies) synced(ctx context.Context, name string, rev int64) error {
	ctx, cancel := context.WithTimeout(ctx, egressSyncWait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if s := e.sync.stats(); s.Revision >= rev {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("policy %s is stored in etcd at revision %d, but this node's policy sync did not write it into %s "+
				"within %s (its last pass: revision %d); see the plugin's log: %w", name, rev, e.cfg.PolicyDir, egressSyncWait, e.sync.stats().Revision, ctx.Err())
		case <-tick.C:
		}
	}
}

// Delete removes the policy; one that is gone already is success.
func (e *egressPolicies) Delete(ctx context.Context, name string) error {
	out, err := e.run(ctx, nil, append(append([]string{"delete", "--json"}, e.where()...), name)...)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 && bytes.Contains(out, []byte(`"found": false`)) {
		return nil
	}
	if err != nil {
		return refusal(out, err)
	}
	return nil
}

// List returns the name of every stored policy: in etcd, or in the node's directory.
func (e *egressPolicies) List(ctx context.Context) ([]string, error) {
	out, err := e.run(ctx, nil, append([]string{"list", "--json"}, e.where()...)...)
	if err != nil {
		return nil, fmt.Errorf("cilium-docker-policy list: %w: %s", err, strings.TrimSpace(string(out)))
	}
	type key struct {
		Key string `json:"key"`
	}
	var listed []key
	if e.sync != nil { // etcd: {"policies": [...] or null, "nodes": [...]}
		var all map[string]json.RawMessage
		pols, ok := json.RawMessage(nil), false
		if json.Unmarshal(out, &all) == nil {
			pols, ok = all["policies"]
		}
		if !ok || json.Unmarshal(pols, &listed) != nil {
			return nil, fmt.Errorf("cilium-docker-policy list answered %q", out)
		}
	} else if err := json.Unmarshal(out, &listed); err != nil { // --local: [...] or null
		return nil, fmt.Errorf("cilium-docker-policy list --local answered %q", out)
	}
	names := make([]string, 0, len(listed))
	for _, l := range listed {
		names = append(names, l.Key)
	}
	return names, nil
}

// run runs the policy binary with args and stdin, and returns its standard output, with its standard
// error after it when it fails.
func (e *egressPolicies) run(ctx context.Context, stdin *strings.Reader, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, policyValidateTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, e.bin, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		stdout.Write(stderr.Bytes())
	}
	return stdout.Bytes(), err
}

// refusal is the reason in the policy binary's answer out, or its output and err.
func refusal(out []byte, err error) error {
	var r struct {
		Refused []struct {
			Error string `json:"error"`
		} `json:"refused"`
	}
	if json.Unmarshal(out, &r) == nil && len(r.Refused) > 0 && r.Refused[0].Error != "" {
		return fmt.Errorf("cilium-docker-policy refused the generated policy: %s", r.Refused[0].Error)
	}
	return fmt.Errorf("cilium-docker-policy: %w: %s", err, strings.TrimSpace(string(out)))
}

// noEgressPolicies refuses every allow-list: without --policy-dir the plugin keeps no policies.
type noEgressPolicies struct{}

func (noEgressPolicies) Apply(context.Context, string, string) error {
	return errors.New("the plugin keeps no policies: run it with --policy-dir (the agent's --static-cnp-path) and, for a " +
		"cluster, the etcd flags (the compose stack and the systemd unit do), or remove the label " + labels.EgressKey)
}

func (noEgressPolicies) Delete(context.Context, string) error { return nil }

func (noEgressPolicies) List(context.Context) ([]string, error) { return nil, nil }
