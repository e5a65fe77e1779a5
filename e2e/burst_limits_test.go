package e2e

import (
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestBurstUnderTheAgentsDefaultLimits: on an agent with its own default API rate limits (an existing
// Cilium host install, not the stack with its raised ones), 100 concurrent `docker run` all succeed:
// a create waits for its turn in the plugin while the agent answers the ones ahead of it, and fails
// only when the agent answers none for a whole --endpoint-timeout. status warns that the limits are
// below what the plugin sends, and names the flag that raises them.
func TestBurstUnderTheAgentsDefaultLimits(t *testing.T) {
	nd := bed.Up(t, 1, bed.WithAgentDefaultLimits())
	net := "cd-limits"
	nd.Network(t, net)
	text, r, rc, _ := status(t, nd)
	st, d := r.check("Agent API limits")
	if rc != 1 || st != "warning" || !strings.Contains(d, "endpoint-create 0.5/s, burst 4, 4 in parallel") ||
		!strings.Contains(text, "--api-rate-limit endpoint-create=") {
		t.Fatalf("status on an agent with its default limits: exit %d, Agent API limits %s %q, want a warning with the flag that raises them:\n%s",
			rc, st, d, text)
	}
	t.Logf("status: Agent API limits: %s: %s", st, d)
	burst(t, nd, net, "lim", 100)
}
