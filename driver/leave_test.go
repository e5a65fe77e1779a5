package driver_test

import (
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/ipam"
)

func TestLeave(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid, eid := hexID("net"), hexID("ep")
	ip := e.createEndpoint(t, nid, eid)
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	if n := len(e.agent.Endpoints()); n != 1 {
		t.Fatalf("agent endpoints after Join: got %d, want 1", n)
	}
	for i := range 2 {
		if out := e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eid}); len(out) != 0 {
			t.Errorf("Leave #%d: got %v, want {}", i+1, out)
		}
	}
	if eps := e.agent.Endpoints(); len(eps) != 0 {
		t.Errorf("agent endpoints after Leave: %s", mustJSON(eps))
	}
	if _, held := e.agent.Allocated()[ip]; held {
		t.Fatalf("the fake agent did not free %s with its endpoint", ip)
	}
	// The agent freed the address: it may be another container's by now, so Docker's release of
	// the old one must not reach the agent.
	next := e.allocate(t)
	e.agent.Allocate(ip, "someone-else")
	for range 2 {
		e.mustCall(t, "NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid})
	}
	e.mustCall(t, "IpamDriver.ReleaseAddress", map[string]any{"PoolID": ipam.PoolV4, "Address": ip.String()})
	if n := len(e.agent.RequestsTo(agenttest.RouteRelease)); n != 0 {
		t.Errorf("ReleaseAddress after Leave called the agent %d times, want 0", n)
	}
	if owner := e.agent.Allocated()[ip]; owner != "someone-else" {
		t.Errorf("owner of %s: got %q, want someone-else", ip, owner)
	}
	if owner := e.agent.Allocated()[next]; owner != "cilium-docker" {
		t.Errorf("owner of %s: got %q, want cilium-docker", next, owner)
	}
}

func TestLeaveAgentDown(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid, eid := hexID("net"), hexID("ep")
	e.createEndpoint(t, nid, eid)
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	e.agent.Stop()
	code, out := e.call(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eid})
	if code != 500 || !strings.Contains(out["Err"].(string), "cilium-agent not reachable at") {
		t.Errorf("Leave with the agent down: got %d %v, want 500 cilium-agent not reachable", code, out)
	}
	if err := e.agent.Start(); err != nil {
		t.Fatal(err)
	}
	e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eid})
	if eps := e.agent.Endpoints(); len(eps) != 0 {
		t.Errorf("agent endpoints after Leave: %s", mustJSON(eps))
	}
}

// TestLeaveAgentKeepsAddress runs Leave against an agent that does not free an endpoint's address
// on delete (observed once on 1.19.3, see cilium-agent-api.md §5). The plugin still never releases
// an address after its endpoint is gone: it cannot tell whether the agent handed it out again.
func TestLeaveAgentKeepsAddress(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	e.agent.SetFreeIPOnDelete(false)
	nid, eid := hexID("net"), hexID("ep")
	ip := e.createEndpoint(t, nid, eid)
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eid})
	e.mustCall(t, "NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid})
	e.mustCall(t, "IpamDriver.ReleaseAddress", map[string]any{"PoolID": ipam.PoolV4, "Address": ip.String()})
	if n := len(e.agent.RequestsTo(agenttest.RouteRelease)); n != 0 {
		t.Errorf("ReleaseAddress after Leave called the agent %d times, want 0", n)
	}
	// Known cost of that rule with such an agent: the address stays allocated (no expiration timer
	// runs any more, the endpoint create stopped it) until something like a GC reclaims it.
	if owner := e.agent.Allocated()[ip]; owner != "cilium-docker" {
		t.Errorf("owner of %s: got %q, want cilium-docker (the agent kept it)", ip, owner)
	}
}
