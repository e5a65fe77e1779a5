package driver_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
)

// joinRoutes returns the destinations of a Join answer's static routes, in order.
func joinRoutes(t *testing.T, out map[string]any) []string {
	t.Helper()
	var dst []string
	rs, _ := out["StaticRoutes"].([]any)
	for _, r := range rs {
		m, _ := r.(map[string]any)
		d, _ := m["Destination"].(string)
		if m["RouteType"] == float64(0) && m["NextHop"] != "10.77.18.133" {
			t.Errorf("route %s via %v, want via the router 10.77.18.133", d, m["NextHop"])
		}
		dst = append(dst, d)
	}
	return dst
}

// TestJoinRoutesTheCluster: a Join routes every node's pod range through the cilium interface, not only
// this node's, so a container whose default route is another network's (the bridge) still reaches
// containers on other nodes through Cilium, under its own identity. Ranges inside a wider one are
// left to it; without the node list, the node's own range is still routed.
func TestJoinRoutesTheCluster(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	cfg := e.agent.Config()
	cfg.OtherNodes = []netip.Prefix{netip.MustParsePrefix("10.78.0.0/16"), netip.MustParsePrefix("10.79.0.0/16"),
		netip.MustParsePrefix("10.78.5.0/24")}
	e.agent.SetConfig(cfg)
	nid := hexID("net")

	join := func(name string) map[string]any {
		eid := hexID("ep" + name)
		e.docker.AddContainer(dockertest.Container{ID: hexID(name), Name: name, Networks: map[string]string{nid: eid}})
		e.createEndpoint(t, nid, eid)
		return e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	}
	want := []string{"10.77.18.133/32", "10.77.0.0/16", "10.78.0.0/16", "10.79.0.0/16"}
	if got := joinRoutes(t, join("c1")); !slices.Equal(got, want) {
		t.Errorf("routes: got %v, want %v", got, want)
	}

	e.agent.SetFault(agenttest.RouteClusterNodes, agenttest.Fault{Status: 500, Body: `"boom"`})
	want = []string{"10.77.18.133/32", "10.77.0.0/16"}
	if got := joinRoutes(t, join("c2")); !slices.Equal(got, want) {
		t.Errorf("routes without the node list: got %v, want %v", got, want)
	}
}
