package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
	"github.com/cilium-docker/cilium-docker/supervise"
)

// The policy sync (policy/dirsync) runs in the policy binary, as `cilium-docker-policy sync`, a child of
// the plugin: it links Cilium's policy parser and the etcd client, which would cost the plugin about
// 20 MB of resident memory. The plugin starts it with its own flags and the agent's cluster name,
// restarts it when it ends, reads its state from its --report lines for /metrics, and stops it by PID.

// policyValidateTimeout bounds the policy binary's check of the flags at start.
const policyValidateTimeout = 10 * time.Second

// policySyncArgs are the sync's arguments: this plugin's policy and identity GC flags, the agent's cluster
// name and ID, and its version (reported in the node's status for `policy list`).
func policySyncArgs(cfg *Config, cluster string, clusterID uint32, agentVersion string) []string {
	args := []string{"sync", "--report", "--policy-dir=" + cfg.PolicyDir, "--node-name=" + cfg.NodeName,
		"--identity-gc-interval=" + cfg.IdentityGCInterval.String()}
	if cluster != "" {
		args = append(args, "--cluster-name="+cluster)
	}
	if clusterID != 0 {
		args = append(args, "--cluster-id="+strconv.FormatUint(uint64(clusterID), 10))
	}
	if agentVersion != "" {
		args = append(args, "--agent-version="+agentVersion)
	}
	return append(args, cfg.Etcd.Args()...)
}

// agentVersion is the agent's version number for the sync's status ("1.20.2"), "" when the agent does
// not say: the version is for people, and the sync starts without it.
func agentVersion(ctx context.Context, ag *agent.Cached, log *logrus.Entry) string {
	v, err := ag.Version(ctx)
	if err != nil {
		log.WithError(err).Warn("the agent's version: the policy sync reports none")
		return ""
	}
	if f := strings.Fields(v); len(f) > 0 {
		return f[0]
	}
	return ""
}

// validatePolicySync has the policy binary check the etcd flags, so that a bad one fails the start.
func validatePolicySync(ctx context.Context, bin string, cfg *Config) error {
	ctx, cancel := context.WithTimeout(ctx, policyValidateTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(policySyncArgs(cfg, "", 0, ""), "--validate")...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("%s: %s", bin, msg)
		}
		return fmt.Errorf("%s sync --validate: %w", bin, err)
	}
	return nil
}

// policyDirWritable creates and removes a probe file (O_EXCL, a fresh name) in dir, so that a directory
// the sync could not write fails the start rather than every sync: under systemd, ProtectSystem=strict
// keeps it read-only unless the unit's ReadWritePaths= names it. `sync --validate` checks only the flags.
func policyDirWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".cilium-docker-probe-*") // O_RDWR|O_CREATE|O_EXCL
	if err == nil {
		name := f.Name()
		err = errors.Join(f.Close(), os.Remove(name))
	}
	if err != nil {
		return fmt.Errorf("%s is not writable (the policy sync writes the agent's policies there; it must be an existing "+
			"directory): %w; under systemd add ReadWritePaths=%s to the unit (systemctl edit cilium-docker.service)", dir, err, dir)
	}
	return nil
}

// policySync is the supervised policy sync and the state it last reported.
type policySync struct {
	*supervise.Supervisor
	mu   sync.Mutex
	last syncreport.Stats // guarded by mu: the running sync's last report (Errors: its own)
	base uint64           // guarded by mu: the errors of the syncs that ran before this one
	// gcBase: the identity GC's passes, removals and failures of the syncs that ran before this one.
	gcBase syncreport.IdentityGC // guarded by mu
}

// newPolicySync returns the policy sync; Run runs it. Its standard error (its log) goes to stderr.
func newPolicySync(cfg *Config, bin string, log *logrus.Entry, ag *agent.Cached, stderr io.Writer) *policySync {
	p := &policySync{}
	spec := func(ctx context.Context) (string, []string, error) {
		c, err := ag.Config(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("the agent's cluster name: %w", err)
		}
		return bin, policySyncArgs(cfg, c.ClusterName, c.ClusterID, agentVersion(ctx, ag, log)), nil
	}
	p.Supervisor = supervise.New(log, spec, p.line, supervise.Options{Stderr: stderr, OnStart: p.started})
	return p
}

// started carries the counts of the sync that ended over to the new one.
func (p *policySync) started() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base += p.last.Errors
	p.last.Errors = 0
	p.gcBase.Passes += p.last.GC.Passes
	p.gcBase.Removed += p.last.GC.Removed
	p.gcBase.Failures += p.last.GC.Failures
	p.gcBase.LastPass = max(p.gcBase.LastPass, p.last.GC.LastPass)
	p.last.GC = syncreport.IdentityGC{} // the new sync is not elected yet
}

// line takes one --report line of the sync.
func (p *policySync) line(b []byte) {
	st, ok := syncreport.Parse(b)
	if !ok {
		return // not a report
	}
	st.Revision = max(st.Revision, 0)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = st
}

func (p *policySync) stats() syncreport.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.last
	s.Errors += p.base
	s.GC.Passes += p.gcBase.Passes
	s.GC.Removed += p.gcBase.Removed
	s.GC.Failures += p.gcBase.Failures
	s.GC.LastPass = max(s.GC.LastPass, p.gcBase.LastPass)
	return s
}
