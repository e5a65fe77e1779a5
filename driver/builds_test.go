package driver_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/ipam"
)

func pecRequest(nid, eid string) map[string]any {
	return map[string]any{"NetworkID": nid, "EndpointID": eid, "Options": map[string]any{}}
}

// TestJoinHandsOverTheCreate: a container that joins one network only, being started, gets its Join
// answered before the agent built its endpoint, and its ProgramExternalConnectivity only after.
func TestJoinHandsOverTheCreate(t *testing.T) {
	e := newEnvHandingOver(t, defaultTimeouts, driver.NewBuilds())
	nid, eid, cid := hexID("net"), hexID("ep"), hexID("ctr")
	e.createEndpoint(t, nid, eid)
	e.docker.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Labels: composeLabels, Networks: map[string]string{nid: eid}})
	e.agent.SetFault(agenttest.RoutePutEndpoint, agenttest.Fault{Latency: 300 * time.Millisecond, Times: 1})

	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	if eps := e.agent.Endpoints(); len(eps) != 0 {
		t.Fatalf("Join waited for the agent's build: %d endpoints when it answered", len(eps))
	}
	e.mustCall(t, "NetworkDriver.ProgramExternalConnectivity", pecRequest(nid, eid))
	eps := e.agent.Endpoints()
	if len(eps) != 1 || eps[0].Status.State == nil || *eps[0].Status.State != models.EndpointStateReady {
		t.Fatalf("ProgramExternalConnectivity answered before the endpoint was ready: %s", mustJSON(eps))
	}
	if got := eps[0].Status.Identity.Labels; !jsonEqual(got, wantComposeLabels) {
		t.Errorf("identity labels: got %v, want %v", got, wantComposeLabels)
	}

	// Docker may repeat either call: no second create, the same answer.
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	e.mustCall(t, "NetworkDriver.ProgramExternalConnectivity", pecRequest(nid, eid))
	if n := len(e.agent.ChangeRequests()); n != 1 {
		t.Errorf("endpoint creates after repeated calls: got %d, want 1", n)
	}

	e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eid})
	if eps := e.agent.Endpoints(); len(eps) != 0 {
		t.Errorf("Leave left agent endpoints: %s", mustJSON(eps))
	}
}

// TestHandedOverCreateFails: the agent's failure reaches Docker in ProgramExternalConnectivity, which
// fails the start; Docker's rollback (Leave, DeleteEndpoint, ReleaseAddress) leaves nothing.
func TestHandedOverCreateFails(t *testing.T) {
	to := defaultTimeouts
	to.create = 300 * time.Millisecond
	e := newEnvHandingOver(t, to, driver.NewBuilds())
	nid, eid := hexID("net"), hexID("ep")
	ip := e.createEndpoint(t, nid, eid)
	e.docker.AddContainer(dockertest.Container{ID: hexID("c"), Name: "c", Networks: map[string]string{nid: eid}})
	e.agent.SetFault(agenttest.RoutePutEndpoint, agenttest.Fault{Hang: true})

	// Without the hand-over, the Join would fail after 300 ms. A repeated call gets the same answer.
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	for range 2 {
		code, out := e.call(t, "NetworkDriver.ProgramExternalConnectivity", pecRequest(nid, eid))
		if code != http.StatusInternalServerError || !strings.Contains(out["Err"].(string), "did not answer") {
			t.Fatalf("ProgramExternalConnectivity: got %d %v, want 500 with Err containing %q", code, out, "did not answer")
		}
	}
	e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eid})
	e.mustCall(t, "NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid})
	e.mustCall(t, "IpamDriver.ReleaseAddress", map[string]any{"PoolID": ipam.PoolV4, "Address": ip.String()})
	if eps := e.agent.Endpoints(); len(eps) != 0 {
		t.Errorf("agent endpoints left: %s", mustJSON(eps))
	}
	if owner, held := e.agent.Allocated()[ip]; held {
		t.Errorf("%s still allocated (owner %q)", ip, owner)
	}
	if e.links.has(eid) {
		t.Error("veth pair left after DeleteEndpoint")
	}
}

// TestJoinWaitsWhenDockerMaySendNoProgramExternalConnectivity: with another network, on an internal
// network, or joining a running container, Docker may not send the call, so the Join waits for the
// build (an agent that hangs fails it).
func TestJoinWaitsWhenDockerMaySendNoProgramExternalConnectivity(t *testing.T) {
	tests := []struct {
		name     string
		ctr      func(nid, eid string) dockertest.Container
		internal bool
	}{
		{"second network", func(nid, eid string) dockertest.Container {
			return dockertest.Container{ID: hexID("c"), Name: "c", Networks: map[string]string{nid: eid, hexID("bridge"): hexID("ep2")}}
		}, false},
		{"running container (network connect)", func(nid, eid string) dockertest.Container {
			return dockertest.Container{ID: hexID("c"), Name: "c", Running: true, Networks: map[string]string{nid: eid}}
		}, false},
		{"paused container", func(nid, eid string) dockertest.Container {
			return dockertest.Container{ID: hexID("c"), Name: "c", State: "paused", Networks: map[string]string{nid: eid}}
		}, false},
		{"internal network", func(nid, eid string) dockertest.Container {
			return dockertest.Container{ID: hexID("c"), Name: "c", Networks: map[string]string{nid: eid}}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := defaultTimeouts
			to.create = 300 * time.Millisecond
			e := newEnvHandingOver(t, to, driver.NewBuilds())
			nid, eid := hexID("net"), hexID("ep")
			e.createEndpoint(t, nid, eid)
			e.docker.AddNetwork(dockertest.Network{ID: nid, Name: "cilium-net", Internal: tt.internal})
			e.docker.AddNetwork(dockertest.Network{ID: hexID("bridge"), Name: "bridge", Driver: "bridge", IPAMDriver: "default"})
			e.docker.AddContainer(tt.ctr(nid, eid))
			e.agent.SetFault(agenttest.RoutePutEndpoint, agenttest.Fault{Hang: true})
			code, out := e.call(t, "NetworkDriver.Join", joinRequest(nid, eid))
			if code != http.StatusInternalServerError || !strings.Contains(out["Err"].(string), "did not answer") {
				t.Errorf("Join: got %d %v, want it to wait for the build and fail with it", code, out)
			}
		})
	}
}

// TestBuildsStop: Stop waits for the creates in flight; after it, Joins create by themselves.
func TestBuildsStop(t *testing.T) {
	b := driver.NewBuilds()
	e := newEnvHandingOver(t, defaultTimeouts, b)
	nid, eid := hexID("net"), hexID("ep")
	e.createEndpoint(t, nid, eid)
	e.docker.AddContainer(dockertest.Container{ID: hexID("c"), Name: "c", Networks: map[string]string{nid: eid}})
	e.agent.SetFault(agenttest.RoutePutEndpoint, agenttest.Fault{Latency: 300 * time.Millisecond})
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	if eps := e.agent.Endpoints(); len(eps) != 0 {
		t.Fatalf("Join waited for the agent's build: %d endpoints when it answered", len(eps))
	}
	b.Stop()
	if eps := e.agent.Endpoints(); len(eps) != 1 {
		t.Fatalf("after Stop: %d agent endpoints, want the one in flight built", len(eps))
	}

	to := defaultTimeouts
	to.create = 300 * time.Millisecond
	e2 := newEnvHandingOver(t, to, b) // stopped
	nid2, eid2 := hexID("net2"), hexID("ep2")
	e2.createEndpoint(t, nid2, eid2)
	e2.docker.AddContainer(dockertest.Container{ID: hexID("c2"), Name: "c2", Networks: map[string]string{nid2: eid2}})
	e2.agent.SetFault(agenttest.RoutePutEndpoint, agenttest.Fault{Hang: true})
	if code, out := e2.call(t, "NetworkDriver.Join", joinRequest(nid2, eid2)); code != http.StatusInternalServerError {
		t.Errorf("Join after Stop: got %d %v, want it to wait for the build and fail with it", code, out)
	}
}

// TestProgramExternalConnectivityAfterARestart: a process that did not see the Join (the plugin
// restarted between Join and ProgramExternalConnectivity, and the handed-over create died with the old
// one) makes sure of the endpoint before the container runs. (One that exists is refused as existing,
// which is success, as for a repeated Join.)
func TestProgramExternalConnectivityAfterARestart(t *testing.T) {
	e := newEnvHandingOver(t, defaultTimeouts, driver.NewBuilds())
	nid, eid, cid := hexID("net"), hexID("ep"), hexID("ctr")
	e.createEndpoint(t, nid, eid)
	e.docker.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Labels: composeLabels, Networks: map[string]string{nid: eid}})

	e.mustCall(t, "NetworkDriver.ProgramExternalConnectivity", pecRequest(nid, eid))
	eps := e.agent.Endpoints()
	if len(eps) != 1 || eps[0].Status.State == nil || *eps[0].Status.State != models.EndpointStateReady ||
		!jsonEqual(eps[0].Status.Identity.Labels, wantComposeLabels) {
		t.Fatalf("after ProgramExternalConnectivity without a Join: agent endpoints %s, want one ready under the labels", mustJSON(eps))
	}
}
