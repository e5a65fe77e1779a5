package driver_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
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
	// Create, Join, two Leaves (each reads the link), two DeleteEndpoints.
	e.links.wantCalls(t, addEp, showEp, showEp, showEp, delEp, delEp)
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

// TestMutationsByAttachment: the agent hands a deleted endpoint's numeric ID to the next endpoint, so
// every request that changes an endpoint addresses it by its CNI attachment, which names one
// container's attachment for good; a numeric ID read earlier may name another container by then.
func TestMutationsByAttachment(t *testing.T) {
	for _, v := range agenttest.Versions {
		t.Run(v.String(), func(t *testing.T) {
			e := newEnvAt(t, defaultTimeouts, v)
			nid, eidA, eidB := hexID("net"), hexID("a"), hexID("b")
			e.createEndpoint(t, nid, eidA)
			e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eidA))
			idA := e.agent.Endpoints()[0].ID
			// A's endpoint goes away behind the plugin's back; B's takes its numeric ID.
			if code, _ := rawAgent(t, e, http.MethodDelete, fmt.Sprintf("/v1/endpoint/%d", idA)); code != http.StatusOK {
				t.Fatalf("delete A's endpoint: got %d", code)
			}
			e.createEndpoint(t, nid, eidB)
			e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eidB))
			if eps := e.agent.Endpoints(); len(eps) != 1 || eps[0].ID != idA {
				t.Fatalf("the fake did not reuse ID %d: %s", idA, mustJSON(eps))
			}
			// A's container starts: the label sync finds no endpoint for A and leaves B's alone.
			e.docker.AddContainer(dockertest.Container{ID: hexID("ca"), Name: "a", Labels: map[string]string{"app": "a"},
				Running: true, Networks: map[string]string{nid: eidA}})
			e.docker.AddContainer(dockertest.Container{ID: hexID("cb"), Name: "b", Labels: map[string]string{"app": "b"},
				Running: true, Networks: map[string]string{nid: eidB}})
			if err := e.sync.Resync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := e.userLabels(eidB); !slices.Equal(got, withK8s("docker", "container:app=b")) {
				t.Errorf("B's identity labels: got %v, want [container:app=b]", got)
			}
			// Leave of A is success and does not touch B's endpoint.
			e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eidA})
			if eps := e.agent.Endpoints(); len(eps) != 1 {
				t.Errorf("Leave of A's gone endpoint deleted B's: %s", mustJSON(eps))
			}
			e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eidB})
			var mutations []agenttest.Request
			mutations = append(mutations, e.agent.RequestsTo(agenttest.RoutePatchLabels)...)
			mutations = append(mutations, e.agent.RequestsTo(agenttest.RouteDeleteEndpoint)...)
			for _, r := range mutations {
				if r.Path == fmt.Sprintf("/v1/endpoint/%d", idA) { // the test's own delete
					continue
				}
				if !strings.Contains(r.Path, "cni-attachment-id:") {
					t.Errorf("%s %s: want the endpoint addressed by cni-attachment-id", r.Method, r.Path)
				}
			}
			if len(mutations) < 3 {
				t.Errorf("mutations: got %d, want the label patch and two deletes at least", len(mutations))
			}
		})
	}
}

// rawAgent sends a request to the fake agent outside the plugin, as another client would.
func rawAgent(t *testing.T, e *env, method, path string) (int, []byte) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.agent.Path())
	}}}
	req, err := http.NewRequest(method, "http://agent"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
