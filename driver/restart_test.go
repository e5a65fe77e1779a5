package driver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/ipam"
	"github.com/cilium-docker/cilium-docker/labels"
	"github.com/cilium-docker/cilium-docker/server"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// restartPlugin replaces the plugin process: a fresh address book, IPAM and driver on a new socket,
// with the same agent, Docker and kernel.
func (e *env) restartPlugin(t *testing.T) {
	t.Helper()
	e.book = ipam.NewBook()
	e.ipam = ipam.New(ipam.Deps{Agent: e.ac, Book: e.book, Tracker: noTracker{}})
	e.drv = driver.New(e.deps(driver.DriverName, noPorts{}, joinsWait{}, driver.NewLabelled()))
	s := server.New(servertest.Log())
	driver.Register(s, e.drv)
	ipam.Register(s, e.ipam)
	e.sock = servertest.Serve(t, s)
	e.hc = servertest.Client(e.sock)
}

// A plugin restart between RequestAddress and Join loses the address's expiration UUID: Join must
// still stop the agent's timer, or the agent frees a running container's address 10 minutes later.
func TestJoinAfterPluginRestartStopsTheTimer(t *testing.T) {
	for _, v := range agenttest.Versions {
		t.Run(v.String(), func(t *testing.T) {
			e := newEnvAt(t, defaultTimeouts, v)
			nid, eid := hexID("net"), hexID("ep")
			ip := e.createEndpoint(t, nid, eid)
			if _, ok := e.agent.Expiring()[ip]; !ok {
				t.Fatalf("address %s has no expiration timer after RequestAddress", ip)
			}
			e.restartPlugin(t)
			e.docker.AddContainer(dockertest.Container{ID: hexID("ctr"), Name: "web", Labels: map[string]string{"name": "web"},
				Networks: map[string]string{nid: eid}})
			e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))

			if uuid, ok := e.agent.Expiring()[ip]; ok {
				t.Errorf("address %s still under expiration timer %s after Join: the agent would free it under the container", ip, uuid)
			}
			if owner := e.agent.Allocated()[ip]; owner != ipam.Owner {
				t.Errorf("address %s owner %q, want %q", ip, owner, ipam.Owner)
			}
			if eps := e.agent.Endpoints(); len(eps) != 1 || eps[0].Status.Networking.Addressing[0].IPv4 != ip.String() {
				t.Errorf("agent endpoints %v, want one holding %s", eps, ip)
			}
			e.agent.Expire() // the 10 minutes pass
			if _, ok := e.agent.Allocated()[ip]; !ok {
				t.Errorf("address %s freed by the expiration timer while its endpoint runs", ip)
			}
		})
	}
}

// An agent restart between RequestAddress and Join forgets the allocation and its timer; the endpoint
// create with the UUID then fails. Join re-claims the address and starts the container.
func TestJoinAfterAgentRestartReclaims(t *testing.T) {
	for _, v := range agenttest.Versions {
		t.Run(v.String(), func(t *testing.T) {
			e := newEnvAt(t, defaultTimeouts, v)
			nid, eid := hexID("net"), hexID("ep")
			ip := e.createEndpoint(t, nid, eid)
			if err := e.agent.Restart(); err != nil {
				t.Fatal(err)
			}
			if _, ok := e.agent.Allocated()[ip]; ok {
				t.Fatalf("the fake agent kept %s across a restart", ip)
			}
			e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
			if owner := e.agent.Allocated()[ip]; owner != ipam.Owner {
				t.Errorf("address %s after Join: owner %q, want %q", ip, owner, ipam.Owner)
			}
			if len(e.agent.Endpoints()) != 1 {
				t.Errorf("agent endpoints: %d, want 1", len(e.agent.Endpoints()))
			}
		})
	}
}

// The address was handed to someone else while the agent was restarting: the start fails and says so.
func TestJoinAfterAgentRestartAddressTaken(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid, eid := hexID("net"), hexID("ep")
	ip := e.createEndpoint(t, nid, eid)
	if err := e.agent.Restart(); err != nil {
		t.Fatal(err)
	}
	e.agent.Allocate(ip, "someone-else")
	code, out := e.call(t, "NetworkDriver.Join", joinRequest(nid, eid))
	if msg, _ := out["Err"].(string); code != http.StatusInternalServerError || !strings.Contains(msg, `held by "someone-else"`) {
		t.Errorf("Join: got %d %v, want 500 saying the address is held by someone-else", code, out)
	}
	if len(e.agent.Endpoints()) != 0 {
		t.Errorf("agent endpoints after the failed Join: %d, want 0", len(e.agent.Endpoints()))
	}
	if owner := e.agent.Allocated()[ip]; owner != "someone-else" {
		t.Errorf("address %s owner %q, want someone-else's allocation untouched", ip, owner)
	}
}

// Docker 29 names the container in RequestAddress. When Join cannot ask Docker (a dockerd restoring
// its containers at boot does not answer), the endpoint is still created under that name: the agent
// takes k8s-pod-name only at create.
func TestJoinNamesTheEndpointFromRequestAddress(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid, eid := hexID("net"), hexID("ep")
	out := e.mustCall(t, "IpamDriver.RequestAddress", map[string]any{"PoolID": ipam.PoolV4, "Address": "",
		"Options": map[string]string{"com.docker.network.endpoint.name": "web-1"}})
	addr, _ := out["Address"].(string)
	e.mustCall(t, "NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid,
		"Interface": map[string]string{"Address": addr}, "Options": map[string]any{}})
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid)) // Docker lists no container for it
	reqs := e.agent.ChangeRequests()
	if len(reqs) != 1 || reqs[0].K8sPodName != "web-1" || reqs[0].K8sNamespace != labels.DefaultNamespace {
		t.Fatalf("endpoint create: %+v, want k8s-pod-name web-1 in namespace %s", reqs, labels.DefaultNamespace)
	}
}

// Join made the endpoint, the plugin died before answering, and dockerd repeats the Join on the new
// process: it succeeds without touching the address.
func TestJoinRepeatedAfterPluginRestart(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid, eid := hexID("net"), hexID("ep")
	ip := e.createEndpoint(t, nid, eid)
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	e.restartPlugin(t)
	releases := len(e.agent.RequestsTo(agenttest.RouteRelease))
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	if n := len(e.agent.RequestsTo(agenttest.RouteRelease)) - releases; n != 0 {
		t.Errorf("the repeated Join released addresses %d times, want 0", n)
	}
	if eps := e.agent.Endpoints(); len(eps) != 1 || e.agent.Allocated()[ip] != ipam.Owner {
		t.Errorf("after the repeated Join: %d endpoints, %s owned by %q; want 1 and %q", len(eps), ip, e.agent.Allocated()[ip], ipam.Owner)
	}
}
