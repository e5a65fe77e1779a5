package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/podrange"
	"github.com/cilium-docker/cilium-docker/policy/store"
	"github.com/cilium-docker/cilium-docker/policy/store/etcdtest"
)

// TestNodeCommands: the node range commands against a real etcd, as `cilium-docker node` runs them,
// with their output and exit codes.
func TestNodeCommands(t *testing.T) {
	_, u := etcdtest.Start(t, nil)
	ctx := context.Background()
	etcd := []string{"--etcd-endpoints", u, "--etcd-timeout", "2s"}
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"node", "claim", "node1"}, 1, ""}, // no pool yet
		{[]string{"node", "claim", "hand", "--range", "10.9.0.0/24"}, 0, "10.9.0.0/24\n"},
		{[]string{"node", "pool", "set", "10.64.0.0/22", "--per-node", "24", "--ipv6", "fd00:64::/96"}, 0, "pool 10.64.0.0/22 (/24 per node), fd00:64::/96 (/112 per node): set"},
		{[]string{"node", "pool", "set", "10.64.0.0/22", "--per-node", "24", "--ipv6", "fd00:64::/96"}, 0, ": unchanged"},
		{[]string{"node", "pool", "get"}, 0, "10.64.0.0/22 (/24 per node)"},
		{[]string{"node", "claim", "node1"}, 0, "10.64.0.0/24\nfd00:64::/112\n"},
		{[]string{"node", "claim", "node1"}, 0, "10.64.0.0/24\nfd00:64::/112\n"}, // a restart: the same
		{[]string{"node", "claim", "node2", "--json"}, 0, `"ipv4": "10.64.1.0/24"`},
		{[]string{"node", "claim", "x", "--range", "10.64.1.128/25"}, 1, ""}, // overlaps node2
		{[]string{"node", "list"}, 0, "node1  10.64.0.0/24  fd00:64::/112     pool      1"},
		{[]string{"node", "remove", "node1"}, 1, ""}, // an endpoint in it
		{[]string{"node", "remove", "node1", "--force"}, 0, "removed  node1 (10.64.0.0/24, fd00:64::/112), forced with 1 endpoints in it"},
		{[]string{"node", "remove", "node2"}, 0, "removed  node2"},
		{[]string{"node", "remove", "node2"}, 1, ""},
		{[]string{"node", "pool", "set", "10.64.0.0/22", "--per-node", "20"}, 1, ""}, // pool smaller than a node's prefix
		// Usage errors: exit 2, nothing dialled.
		{[]string{"node"}, 2, ""},
		{[]string{"node", "frob"}, 2, ""},
		{[]string{"node", "claim"}, 2, "usage: cilium-docker node claim"},
		{[]string{"node", "claim", "a", "b"}, 2, ""},
		{[]string{"node", "claim", "a/b"}, 2, ""},
		{[]string{"node", "claim", "a", "--range", "10.0.0.0"}, 2, ""},
		{[]string{"node", "list", "extra"}, 2, ""},
		{[]string{"node", "remove", "--frob", "a"}, 2, ""},
		{[]string{"node", "pool"}, 2, ""},
		{[]string{"node", "pool", "set", "nonsense"}, 2, ""},
		{[]string{"node", "claim", "--help"}, 0, "-range"},
	}
	st, err := store.Dial(store.Config{Endpoints: []string{u}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, tt := range tests {
		if i == 9 { // node1's agent publishes an endpoint (Cilium's key, pkg/ipcache/kvstore.go)
			if _, err := st.Put(ctx, podrange.CiliumIPPrefix+"10.64.0.7", `{"IP":"10.64.0.7","ID":4242}`); err != nil {
				t.Fatal(err)
			}
		}
		var out, errb bytes.Buffer
		args := tt.args
		if tt.code != 2 {
			args = append(append([]string{}, args...), etcd...)
		}
		err := run(ctx, cliflags.PluginBinary, args, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb})
		if got, _ := cli.ExitCode(err); got != tt.code || !strings.Contains(out.String(), tt.out) {
			t.Errorf("%v: exit %d (%v), want %d; output:\n%s%s\nwant it to contain %q", tt.args, got, err, tt.code, out.String(), errb.String(), tt.out)
		}
	}
}

// TestNodeForceNotFromEnvironment: CILIUM_DOCKER_FORCE does not force a removal; the etcd endpoints do
// come from the environment, and CILIUM_DOCKER_ETCD_PREFIX (the policies') does not move the ranges.
func TestNodeForceNotFromEnvironment(t *testing.T) {
	_, u := etcdtest.Start(t, nil)
	ctx := context.Background()
	t.Setenv("CILIUM_DOCKER_ETCD_ENDPOINTS", u)
	t.Setenv("CILIUM_DOCKER_FORCE", "true")
	t.Setenv("CILIUM_DOCKER_ETCD_PREFIX", "elsewhere/")
	st, err := store.Dial(store.Config{Endpoints: []string{u}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, args := range [][]string{{"node", "pool", "set", "10.0.0.0/16"}, {"node", "claim", "n1"}} {
		if err := run(ctx, cliflags.PolicyBinary, args, cli.IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if r, err := st.Get(ctx, podrange.DefaultPrefix+"nodes/n1"); err != nil || len(r.Kvs) != 1 {
		t.Fatalf("n1's claim not under %s: %v", podrange.DefaultPrefix, err)
	}
	if _, err := st.Put(ctx, podrange.CiliumIPPrefix+"10.0.0.9", "{}"); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, cliflags.PolicyBinary, []string{"node", "remove", "n1"}, cli.IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if code, _ := cli.ExitCode(err); code != 1 || !strings.Contains(err.Error(), "range in use") {
		t.Fatalf("remove with CILIUM_DOCKER_FORCE set: exit %d (%v), want 1, refused", code, err)
	}
}

// TestNodeClaimWrites: claim --write DIR leaves the agent's flag files, ipv4-range and ipv6-range, and
// a claim without IPv6 removes a stale ipv6-range.
func TestNodeClaimWrites(t *testing.T) {
	_, u := etcdtest.Start(t, nil)
	ctx := context.Background()
	dir := t.TempDir()
	streams := cli.IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
	for _, args := range [][]string{
		{"node", "pool", "set", "10.64.0.0/10", "--ipv6", "fd00:64::/64"},
		{"node", "claim", "n1", "--write", dir},
	} {
		if err := run(ctx, cliflags.PluginBinary, append(args, "--etcd-endpoints", u), streams); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err.Error()
		}
		return string(b)
	}
	if v4, v6 := read("ipv4-range"), read("ipv6-range"); v4 != "10.64.0.0/20\n" || v6 != "fd00:64::/112\n" {
		t.Fatalf("files: ipv4-range %q, ipv6-range %q", v4, v6)
	}
	if err := run(ctx, cliflags.PluginBinary, []string{"node", "claim", "hand", "--range", "10.9.0.0/24", "--write", dir, "--etcd-endpoints", u}, streams); err != nil {
		t.Fatal(err)
	}
	if v4, err := os.ReadFile(filepath.Join(dir, "ipv4-range")); err != nil || string(v4) != "10.9.0.0/24\n" {
		t.Fatalf("ipv4-range %q %v", v4, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ipv6-range")); !os.IsNotExist(err) {
		t.Fatalf("stale ipv6-range kept: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d files in the directory, want ipv4-range only (no temporary files)", len(entries))
	}
}

// TestNodeClaimPool: claim --pool sets the cluster pool on the first start of any node, finds it on the
// others, and refuses another pool; a hand-set claim may carry the pool for the nodes after it.
func TestNodeClaimPool(t *testing.T) {
	_, u := etcdtest.Start(t, nil)
	ctx := context.Background()
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"node", "claim", "hand", "--range", "10.9.0.0/24", "--pool", "10.64.0.0/22", "--per-node", "24"}, 0, "10.9.0.0/24\n"},
		{[]string{"node", "pool", "get"}, 0, "10.64.0.0/22 (/24 per node)"},
		{[]string{"node", "claim", "n1", "--pool", "10.64.0.0/22", "--per-node", "24"}, 0, "10.64.0.0/24\n"},
		{[]string{"node", "claim", "n2", "--pool", "10.64.0.0/22", "--per-node", "23"}, 1, ""}, // another split: another pool
		{[]string{"node", "claim", "n2", "--pool", "10.128.0.0/22", "--per-node", "24"}, 1, ""},
		{[]string{"node", "claim", "n2", "--pool", "10.64.0.0/22,10.65.0.0/22"}, 2, ""},
		{[]string{"node", "claim", "n2", "--pool", "10.64.0.0"}, 2, ""},
		{[]string{"node", "claim", "n2"}, 0, "10.64.1.0/24\n"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		args := append(slices.Clone(tt.args), "--etcd-endpoints", u, "--etcd-timeout", "2s")
		err := run(ctx, cliflags.PluginBinary, args, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb})
		code, _ := cli.ExitCode(err)
		if code != tt.code || !strings.Contains(out.String(), tt.out) {
			t.Errorf("%v: exit %d, out %q, err %q; want exit %d, out containing %q", tt.args, code, out.String(), errb.String(), tt.code, tt.out)
		} else if tt.code == 1 && !strings.Contains(err.Error(), "the cluster's pool is 10.64.0.0/22 (/24 per node)") {
			t.Errorf("%v: the refusal does not name the cluster's pool: %v", tt.args, err)
		}
	}
}

// signalWriter closes ready at its first write.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() == 0 {
		close(w.ready)
	}
	return w.buf.Write(p)
}

// TestNodeClaimWait: claim --wait keeps trying while no pool is set (a node that starts before the one
// that sets the pool) and claims once one is; a refusal ends it at once; the wait has an end.
func TestNodeClaimWait(t *testing.T) {
	_, u := etcdtest.Start(t, nil)
	ctx := context.Background()
	etcd := []string{"--etcd-endpoints", u, "--etcd-timeout", "2s"}
	claim := func(stderr io.Writer, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, cliflags.PluginBinary, append(append([]string{"node", "claim"}, args...), etcd...), cli.IO{In: strings.NewReader(""), Out: &out, Err: stderr})
		return out.String(), err
	}
	errw := &signalWriter{ready: make(chan struct{})}
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := claim(errw, "n1", "--wait", "30s")
		done <- result{out, err}
	}()
	select {
	case <-errw.ready: // it waits for a pool
	case r := <-done:
		t.Fatalf("claim --wait without a pool returned: %q %v", r.out, r.err)
	}
	if out, err := claim(io.Discard, "n0", "--pool", "10.64.0.0/22", "--per-node", "24"); err != nil || out != "10.64.0.0/24\n" {
		t.Fatalf("claim n0 --pool: %q %v", out, err)
	}
	r := <-done
	if r.err != nil || r.out != "10.64.1.0/24\n" {
		t.Fatalf("claim n1 --wait once a pool is set: %q %v, want 10.64.1.0/24", r.out, r.err)
	}
	if !strings.Contains(errw.buf.String(), "no pod range pool") {
		t.Errorf("claim --wait said %q while it waited; want the reason", errw.buf.String())
	}
	start := time.Now()
	if _, err := claim(io.Discard, "x", "--range", "10.64.1.0/25", "--wait", "30s"); !errors.Is(err, podrange.ErrOverlap) || time.Since(start) > 10*time.Second {
		t.Fatalf("an overlapping claim with --wait: %v after %s, want ErrOverlap at once", err, time.Since(start))
	}
	_, u2 := etcdtest.Start(t, nil)
	var out bytes.Buffer
	err := run(ctx, cliflags.PluginBinary, []string{"node", "claim", "n1", "--wait", "2s", "--etcd-endpoints", u2, "--etcd-timeout", "1s"},
		cli.IO{In: strings.NewReader(""), Out: &out, Err: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "gave up after --wait 2s") {
		t.Fatalf("claim --wait 2s with no pool ever: %v, want it to give up", err)
	}
}
