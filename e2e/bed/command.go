package bed

import (
	"testing"
	"time"
)

// Command runs the plugin binary's subcommand (status, flows, …) in the node's network and mount
// namespaces, as a user on the node runs it, and returns its stdout, its stderr and its exit code.
func (nd *Node) Command(t testing.TB, timeout time.Duration, args ...string) (stdout, stderr string, rc int) {
	t.Helper()
	out, err := execOn(timeout, nd.N, append([]string{PluginBin()}, args...)...)
	if err == nil {
		return out, "", 0
	}
	stderr = stderrOf(err)
	if rc = exitCode(err); rc < 0 {
		t.Fatalf("leg %s: node %d: cilium-docker %v: %v", nd.Leg, nd.N, args, err)
	}
	return out, stderr, rc
}
