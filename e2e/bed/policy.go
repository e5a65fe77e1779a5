package bed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// PolicyCLI runs `cilium-docker policy SUB --etcd-endpoints <the node's etcd> ARGS...` in the node's
// network namespace (the bed's etcd is reachable only there) and returns its output and exit code.
func (nd *Node) PolicyCLI(t testing.TB, sub string, args ...string) (string, int) {
	t.Helper()
	argv := []string{PluginBin(), "policy", sub}
	if sub != "check" {
		argv = append(argv, "--etcd-endpoints", nd.env["ETCD_URL"])
	}
	argv = append(argv, args...)
	out, err := execOn(2*time.Minute, nd.N, argv...)
	if err != nil {
		return out + stderrOf(err), exitCode(err)
	}
	return out, 0
}

// MustPolicy is PolicyCLI failing the test unless the command exits 0.
func (nd *Node) MustPolicy(t testing.TB, sub string, args ...string) string {
	t.Helper()
	out, code := nd.PolicyCLI(t, sub, args...)
	if code != 0 {
		t.Fatalf("leg %s: node %d: cilium-docker policy %s %s: exit %d\n%s", nd.Leg, nd.N, sub, strings.Join(args, " "), code, out)
	}
	return out
}

// Etcdctl runs etcdctl (API v3) against the node's etcd in its network namespace.
func (nd *Node) Etcdctl(t testing.TB, args ...string) string {
	t.Helper()
	return nd.Exec(t, append([]string{"env", "ETCDCTL_API=3", "etcdctl", "--endpoints", nd.env["ETCD_URL"]}, args...)...)
}

// PolicyFile writes content into a file of the test's temporary directory and returns its path.
func PolicyFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Consistently checks f for the whole of d, failing at its first error.
func Consistently(t testing.TB, d time.Duration, what string, f func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for ctx.Err() == nil {
		if err := f(); err != nil {
			t.Fatalf("%s: broke within %s: %v", what, d, err)
		}
		time.Sleep(200 * time.Millisecond) // poll interval inside a deadline loop
	}
}

// Blocked is nil when nd's container cannot open a TCP connection to addr:8080 and the Hubble of an
// agent of the bed (nd's for an egress rule, the subject's node's for an ingress rule) lists the attempt
// DROPPED, for a policy reason when the flow carries one: the drop is the policy's, not any fault's.
func (nd *Node) Blocked(t testing.TB, container, addr string) error {
	t.Helper()
	start := time.Now().Add(-time.Second)
	if nd.TCP(t, container, addr) == nil {
		return fmt.Errorf("%s on node %d still reaches %s", container, nd.N, addr)
	}
	return nd.policyDropSince(t, container, addr, start)
}
