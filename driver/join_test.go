package driver_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/ipam"
)

// composeLabels are what docker compose puts on a service container, plus one user label.
var composeLabels = map[string]string{
	"com.docker.compose.project":          "shop",
	"com.docker.compose.service":          "web",
	"com.docker.compose.container-number": "1",
	"com.docker.compose.config-hash":      "0a1b2c",
	"com.docker.compose.oneoff":           "False",
	"org.opencontainers.image.version":    "1.2.3",
	"tier":                                "frontend",
}

var wantComposeLabels = []string{
	"container:com.docker.compose.project=shop",
	"container:com.docker.compose.service=web",
	"container:tier=frontend",
	"k8s:io.cilium.k8s.policy.cluster=local",
	"k8s:io.kubernetes.pod.namespace=shop",
}

// withK8s is labels (sorted) with the Kubernetes identity labels the plugin stamps on a container of
// namespace ns in the fake agent's cluster.
func withK8s(ns string, labels ...string) []string {
	return append(labels, "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace="+ns)
}

// TestJoin runs against each agent line: the endpoint is created, found again and labelled with the
// lookups both accept.
func TestJoin(t *testing.T) {
	for _, v := range agenttest.Versions {
		t.Run(v.String(), func(t *testing.T) { testJoin(t, v) })
	}
}

func testJoin(t *testing.T, v agenttest.Version) {
	e := newEnvAt(t, defaultTimeouts, v)
	nid, eid, cid := hexID("net"), hexID("ep"), hexID("ctr")
	ip := e.createEndpoint(t, nid, eid)
	uuid := e.book.ExpirationUUID(ip)
	if uuid == "" {
		t.Fatal("the IPAM recorded no expiration UUID")
	}
	e.docker.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Labels: composeLabels, Networks: map[string]string{nid: eid}})

	out := e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))

	names := endpoint.NamesFor(endpoint.MustParseID(eid))
	want := map[string]any{
		"InterfaceName": map[string]any{"SrcName": names.Container, "DstPrefix": "eth"},
		"Gateway":       "10.77.18.133",
		"StaticRoutes": []any{
			map[string]any{"Destination": "10.77.18.133/32", "RouteType": 1, "NextHop": ""},
			map[string]any{"Destination": "10.77.0.0/16", "RouteType": 0, "NextHop": "10.77.18.133"},
		},
		"DisableGatewayService": true,
	}
	if !jsonEqual(out, want) {
		t.Errorf("Join answer:\ngot  %v\nwant %v", out, want)
	}

	reqs := e.agent.ChangeRequests()
	if len(reqs) != 1 {
		t.Fatalf("endpoint creates: got %d, want 1", len(reqs))
	}
	link := e.links.link(eid)
	state := models.EndpointStateWaitingDashForDashIdentity
	wantReq := &models.EndpointChangeRequest{
		ContainerID:            eid,
		ContainerInterfaceName: names.Container,
		K8sNamespace:           "shop",
		K8sPodName:             "web-1",
		InterfaceName:          names.Host,
		InterfaceIndex:         int64(link.HostIndex),
		Mac:                    link.ContainerMAC.String(),
		HostMac:                link.HostMAC.String(),
		Addressing:             &models.AddressPair{IPv4: ip.String(), IPv4ExpirationUUID: uuid, IPv4PoolName: "default"},
		Labels:                 wantComposeLabels,
		State:                  &state,
		SyncBuildEndpoint:      true,
	}
	if !jsonEqual(reqs[0], wantReq) {
		t.Errorf("endpoint create request:\ngot  %s\nwant %s", mustJSON(reqs[0]), mustJSON(wantReq))
	}
	if _, running := e.agent.Expiring()[ip]; running {
		t.Errorf("the expiration timer of %s still runs after the endpoint took it", ip)
	}
	eps := e.agent.Endpoints()
	if len(eps) != 1 || eps[0].Status.Identity.ID < 256 {
		t.Errorf("agent endpoints: got %s, want one with a user identity", mustJSON(eps))
	}
	if e.docker.Calls(dockertest.RouteInspect) != 0 {
		t.Error("Join inspected the starting container (deadlocks dockerd)")
	}
	e.links.wantCalls(t, addEp, showEp)
}

func TestJoinFailures(t *testing.T) {
	tests := []struct {
		name    string
		fault   agenttest.Fault
		wantErr string
	}{
		{"agent refuses", agenttest.Fault{Status: 500, Body: "regeneration failed"}, "regeneration failed"},
		{"agent hangs", agenttest.Fault{Hang: true}, "did not answer"},
		{"agent creates, then hangs past the deadline", agenttest.Fault{Hang: true, AfterEffect: true}, "did not answer"},
		{"agent creates, then fails", agenttest.Fault{Status: 500, AfterEffect: true}, "500"},
		{"agent drops the connection", agenttest.Fault{Disconnect: true, AfterEffect: true}, "create endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := defaultTimeouts
			to.create = 300 * time.Millisecond
			e := newEnv(t, to)
			nid, eid := hexID("net"), hexID("ep")
			ip := e.createEndpoint(t, nid, eid)
			e.docker.AddContainer(dockertest.Container{ID: hexID("c"), Name: "c", Networks: map[string]string{nid: eid}})
			e.agent.SetFault(agenttest.RoutePutEndpoint, tt.fault)
			start := time.Now()
			code, out := e.call(t, "NetworkDriver.Join", joinRequest(nid, eid))
			if code != http.StatusInternalServerError || !strings.Contains(out["Err"].(string), tt.wantErr) {
				t.Errorf("Join: got %d %v, want 500 with Err containing %q", code, out, tt.wantErr)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("failed Join took %v", d)
			}
			if eps := e.agent.Endpoints(); len(eps) != 0 {
				t.Errorf("failed Join left agent endpoints: %s", mustJSON(eps))
			}
			// Docker now sends DeleteEndpoint and ReleaseAddress.
			e.mustCall(t, "NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid})
			e.mustCall(t, "IpamDriver.ReleaseAddress", map[string]any{"PoolID": ipam.PoolV4, "Address": ip.String()})
			if owner, held := e.agent.Allocated()[ip]; held {
				t.Errorf("%s still allocated (owner %q) after the failed Join was undone", ip, owner)
			}
			if e.links.has(eid) {
				t.Error("veth pair left after DeleteEndpoint")
			}
		})
	}
}

func TestJoinWithoutCreateEndpoint(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid, eid := hexID("net"), hexID("ep")
	code, out := e.call(t, "NetworkDriver.Join", joinRequest(nid, eid))
	if code != 500 || !strings.Contains(out["Err"].(string), "has no interface on this host") {
		t.Errorf("Join: got %d %v, want 500 has no interface on this host", code, out)
	}
	e.createEndpoint(t, nid, eid)
	code, out = e.call(t, "NetworkDriver.Join", joinRequest(hexID("other-net"), eid))
	if code != 500 || !strings.Contains(out["Err"].(string), "belongs to network") {
		t.Errorf("Join on another network: got %d %v, want 500 belongs to network", code, out)
	}
	req := joinRequest(nid, eid)
	req["SandboxKey"] = "/var/run/docker/netns/../../../etc"
	code, out = e.call(t, "NetworkDriver.Join", req)
	if code != 500 || !strings.Contains(out["Err"].(string), "sandbox key") {
		t.Errorf("Join with a dirty sandbox key: got %d %v, want 500 naming the sandbox key", code, out)
	}
	if n := len(e.agent.RequestsTo(agenttest.RoutePutEndpoint)); n != 0 {
		t.Errorf("refused Joins created %d agent endpoints", n)
	}
}

func TestJoinDockerUnavailable(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env, nid, eid string)
	}{
		{"container not listed yet", func(*env, string, string) {}},
		{"docker API hangs", func(e *env, nid, eid string) {
			e.docker.AddContainer(dockertest.Container{ID: hexID("c"), Name: "web-1", Labels: composeLabels, Networks: map[string]string{nid: eid}})
			e.docker.SetFault(dockertest.RouteNetwork, dockertest.Fault{Hang: true})
		}},
		{"container list hangs", func(e *env, nid, eid string) {
			e.docker.AddContainer(dockertest.Container{ID: hexID("c"), Name: "web-1", Labels: composeLabels, Networks: map[string]string{nid: eid}})
			e.docker.SetFault(dockertest.RouteContainers, dockertest.Fault{Hang: true})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := defaultTimeouts
			to.docker = 200 * time.Millisecond
			e := newEnv(t, to)
			nid, eid, cid := hexID("net"), hexID("ep"), hexID("c")
			e.createEndpoint(t, nid, eid)
			tt.setup(e, nid, eid)
			start := time.Now()
			e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Join waited %v for Docker", d)
			}
			reqs := e.agent.ChangeRequests()
			if len(reqs) != 1 || len(reqs[0].Labels) != 0 || reqs[0].K8sPodName != "" {
				t.Fatalf("endpoint create: got %s, want one without labels or container", mustJSON(reqs))
			}

			// The container starts; the label sync finds it and applies its labels.
			e.docker.SetFault(dockertest.RouteNetwork, dockertest.Fault{})
			e.docker.SetFault(dockertest.RouteContainers, dockertest.Fault{})
			e.docker.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Labels: composeLabels, Running: true,
				Networks: map[string]string{nid: eid}})
			if err := e.sync.Resync(context.Background()); err != nil {
				t.Fatalf("Resync: %v", err)
			}
			// One patch adds the labels; the agent keeps reserved:init beside them until a second
			// patch that changes nothing.
			patches := e.agent.RequestsTo(agenttest.RoutePatchLabels)
			if len(patches) != 2 {
				t.Fatalf("label patches: got %d, want 2", len(patches))
			}
			eps := e.agent.Endpoints()
			if len(eps) != 1 || !slices.Equal(eps[0].Status.Identity.Labels, wantComposeLabels) {
				t.Errorf("endpoint identity: got %s, want exactly %v", mustJSON(eps), wantComposeLabels)
			}
			if err := e.sync.Resync(context.Background()); err != nil {
				t.Fatalf("second Resync: %v", err)
			}
			if n := len(e.agent.RequestsTo(agenttest.RoutePatchLabels)); n != 2 {
				t.Errorf("label patches after a resync with nothing to change: got %d, want 2", n)
			}
		})
	}
}

// TestTwoNetworks joins one container to two cilium networks: each attachment needs its own agent
// endpoint, which the agent keys by container ID and interface name.
// TestTwoNetworks: a container on a cilium network and a network of another driver joins; one on two
// cilium networks is refused before anything is made, saying why (the second interface would need the
// first one's routes: Docker failed the start with "file exists" or "conflicts with existing route").
func TestTwoNetworks(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	bridge := hexID("bridge")
	e.docker.SetNetworkDriver(bridge, "bridge")
	nid, eid := hexID("net1"), hexID("ep1")
	e.docker.AddContainer(dockertest.Container{ID: hexID("c"), Name: "c", Networks: map[string]string{nid: eid, bridge: hexID("br")}})
	e.createEndpoint(t, nid, eid)
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))

	nets := map[string]string{hexID("net2"): hexID("ep2"), hexID("net3"): hexID("ep3")}
	e.docker.AddContainer(dockertest.Container{ID: hexID("d"), Name: "d", Networks: nets})
	for nid, eid := range nets {
		e.createEndpoint(t, nid, eid)
		before := len(e.agent.Endpoints())
		code, out := e.call(t, "NetworkDriver.Join", joinRequest(nid, eid))
		msg, _ := out["Err"].(string)
		if code == http.StatusOK || !strings.Contains(msg, `container "d" is on cilium network`) ||
			!strings.Contains(msg, "one cilium network only") {
			t.Errorf("Join of a container on two cilium networks: got %d %v, want the refusal", code, out)
		}
		if n := len(e.agent.Endpoints()); n != before {
			t.Errorf("a refused Join made an agent endpoint")
		}
	}
}

// TestJoinUnderForeignName: a managed plugin is known to Docker by its reference; a Join to a network
// recorded under another driver name than the plugin was given is refused before anything is made (the
// reconciler would find the endpoint on none of the plugin's networks), and one under its name joins.
func TestJoinUnderForeignName(t *testing.T) {
	e := newEnvNamed(t, defaultTimeouts, agenttest.DefaultConfig().Version, "cilium-docker:latest")
	nid, eid := hexID("net1"), hexID("ep1")
	e.docker.SetNetworkDriver(nid, "cilium")
	e.docker.AddContainer(dockertest.Container{ID: hexID("c"), Name: "c", Networks: map[string]string{nid: eid}})
	e.createEndpoint(t, nid, eid)
	code, out := e.call(t, "NetworkDriver.Join", joinRequest(nid, eid))
	if msg, _ := out["Err"].(string); code == http.StatusOK || !strings.Contains(msg, `has driver "cilium", but this plugin runs as "cilium-docker:latest"`) ||
		!strings.Contains(msg, `CILIUM_DOCKER_DRIVER_NAME="cilium"`) {
		t.Errorf("Join to a network of another driver name: got %d %v, want the refusal", code, out)
	}
	if n := len(e.agent.Endpoints()); n != 0 {
		t.Errorf("a refused Join made %d agent endpoints", n)
	}

	nid2, eid2 := hexID("net2"), hexID("ep2")
	e.docker.SetNetworkDriver(nid2, "cilium-docker:latest")
	e.docker.AddContainer(dockertest.Container{ID: hexID("d"), Name: "d", Networks: map[string]string{nid2: eid2}})
	e.createEndpoint(t, nid2, eid2)
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid2, eid2))
	if n := len(e.agent.Endpoints()); n != 1 {
		t.Errorf("Join to a network of the plugin's name: %d agent endpoints, want 1", n)
	}
}

// TestJoinRepeated sends Join twice, as dockerd does when the first answer was lost to a transport
// error: the second finds the endpoint the first made (its create is refused as existing) and answers
// the same.
func TestJoinRepeated(t *testing.T) {
	for _, known := range []bool{true, false} { // with and without the container's labels
		name := map[bool]string{true: "container known", false: "container unknown"}[known]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, defaultTimeouts)
			nid, eid := hexID("net"), hexID("ep")
			if known {
				e.docker.AddContainer(dockertest.Container{ID: hexID("c"), Name: "c", Labels: composeLabels, Networks: map[string]string{nid: eid}})
			}
			e.createEndpoint(t, nid, eid)
			first := e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
			second := e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
			if !jsonEqual(first, second) {
				t.Errorf("repeated Join answered differently:\nfirst  %v\nsecond %v", first, second)
			}
			if eps := e.agent.Endpoints(); len(eps) != 1 {
				t.Errorf("agent endpoints after a repeated Join: got %d, want 1", len(eps))
			}
			// The second Join's create is refused as existing; neither reads the endpoint (the agent
			// rate-limits reads at 4/s, a burst of starts would queue behind them).
			if n := len(e.agent.RequestsTo(agenttest.RoutePutEndpoint)); n != 2 {
				t.Errorf("endpoint creates: got %d, want 2 (the second refused as existing)", n)
			}
			if n := len(e.agent.RequestsTo(agenttest.RouteGetEndpoint)); n != 0 {
				t.Errorf("endpoint reads on Join: got %d, want 0", n)
			}
			e.links.wantCalls(t, addEp, showEp, showEp)
		})
	}
}
