package reconcile

import (
	"net/netip"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// managedDriver is the driver name Docker gives the managed plugin: another instance of this plugin on
// the same node, beside the reconciler's own "cilium".
const managedDriver = "cilium-docker:latest"

// on adds a running container whose endpoint o is on network nid.
func (e *env) on(nid, name string, o object) {
	e.docker.AddContainer(dockertest.Container{ID: hexID("ct-" + name), Name: name, Running: true,
		Networks: map[string]string{nid: o.eid.String()}})
	e.docker.SetAddress(o.eid.String(), o.ip.String()+"/32")
}

// Agent endpoints, host links, the address owner and the nft table look the same for every instance of
// the plugin on a node: a Docker endpoint on a network of any driver name explains them. A container on
// the managed plugin's network keeps everything over three passes of another instance's reconciler
// (the process plugin's, whose networks are "cilium"'s).
func TestEndpointsOfOtherDriverNamesExplain(t *testing.T) {
	e := newEnv(t)
	e.clock.advance(DockerRetryWindow)
	ports := &fakePorts{pub: map[endpoint.ID][]endpoint.Mapping{}}
	e.r.ports = ports
	other := hexID("managed-net")
	e.docker.AddNetwork(dockertest.Network{ID: other, Name: "managed-net", Driver: managedDriver, IPAMDriver: managedDriver,
		Aux: map[string]string{"r": "10.77.9.8"}})
	aux := netip.MustParseAddr("10.77.9.8")
	e.agent.Allocate(aux, owner) // the other instance's aux address
	live := e.made(t, "managed")
	e.on(other, "managed", live)
	ports.pub[live.eid] = []endpoint.Mapping{{Proto: endpoint.TCP, HostIP: netip.IPv4Unspecified(), HostPort: 8080,
		Container: netip.AddrPortFrom(live.ip, 80)}}
	gone := e.made(t, "removed while the plugin was down") // the control: what no endpoint explains goes

	for i := range 3 {
		e.mustPass(t)
		if got := e.present(t, live); got != all {
			t.Fatalf("after pass %d: the other driver name's container has %s, want %s", i+1, got, all)
		}
		if !ports.has(live.eid) {
			t.Fatalf("after pass %d: the other driver name's container lost its published ports", i+1)
		}
		if _, ok := e.agent.Allocated()[aux]; !ok {
			t.Fatalf("after pass %d: the other driver name's aux address %s released", i+1, aux)
		}
		e.clock.advance(time.Minute)
	}
	if got := e.present(t, gone); got != none {
		t.Errorf("unexplained endpoint after three passes: %s, want %s", got, none)
	}
	if st := e.r.Stats(); st.Passes != 3 || st.Endpoints != 1 || st.Links != 1 || st.Addresses != 0 || st.Ports != 0 {
		// The agent frees the address with its endpoint: nothing left to release.
		t.Errorf("stats %+v: want 3 passes removing the unexplained agent endpoint and link only", st)
	}
}

// A network whose inspect fails may hold the endpoint that explains anything: the pass fails and
// removes nothing, whatever the network's driver. A network removed between the list and its inspect
// (404) holds nothing and does not stop the pass.
func TestNetworkInspectFailureRemovesNothing(t *testing.T) {
	e := newEnv(t)
	e.clock.advance(DockerRetryWindow)
	other := hexID("managed-net")
	e.docker.AddNetwork(dockertest.Network{ID: other, Name: "managed-net", Driver: managedDriver, IPAMDriver: managedDriver,
		InspectStatus: 500})
	e.docker.AddNetwork(dockertest.Network{ID: hexID("removed"), Name: "removed", Driver: "bridge", IPAMDriver: "default",
		InspectStatus: 404})
	live := e.made(t, "managed")
	e.on(other, "managed", live)
	orphan := e.made(t, "orphan") // what two complete passes would remove

	for i := range 3 {
		if err := e.pass(t); err == nil {
			t.Fatalf("pass %d with a network whose inspect fails: got nil, want an error", i+1)
		}
		for name, o := range map[string]object{"live": live, "orphan": orphan} {
			if got := e.present(t, o); got != all {
				t.Fatalf("after failed pass %d: %s has %s, want %s", i+1, name, got, all)
			}
		}
		e.clock.advance(time.Minute)
	}
	e.docker.AddNetwork(dockertest.Network{ID: other, Name: "managed-net", Driver: managedDriver, IPAMDriver: managedDriver})
	for range 2 {
		e.mustPass(t)
		e.clock.advance(time.Minute)
	}
	if got := e.present(t, live); got != all {
		t.Errorf("live container once its network reads: %s, want %s", got, all)
	}
	if got := e.present(t, orphan); got != none {
		t.Errorf("orphan after two complete passes: %s, want %s", got, none)
	}
	if st := e.r.Stats(); st.Incomplete != 3 || st.Passes != 2 {
		t.Errorf("stats %+v, want 3 incomplete passes and 2 complete", st)
	}
}
