package reconcile

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

var _ Ports = (*fakePorts)(nil)

// fakePorts holds published ports by endpoint, as the kernel's rules do.
type fakePorts struct {
	mu      sync.Mutex
	pub     map[endpoint.ID][]endpoint.Mapping // guarded by mu
	lost    int                                // guarded by mu: endpoints whose rules the next Repair puts back
	repairs int                                // guarded by mu: Repair calls
}

func (f *fakePorts) Published(context.Context) (map[endpoint.ID][]endpoint.Mapping, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[endpoint.ID][]endpoint.Mapping{}
	for eid, ms := range f.pub {
		out[eid] = ms
	}
	return out, nil
}

func (f *fakePorts) Unpublish(_ context.Context, eid endpoint.ID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.pub, eid)
	return nil
}

func (f *fakePorts) Repair(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repairs++
	n := f.lost
	f.lost = 0
	return n, nil
}

func (f *fakePorts) has(eid endpoint.ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.pub[eid]
	return ok
}

// Published ports outlive a plugin that was down when their container went: the reconciler removes
// them after two passes, and keeps those of a running container.
func TestRemovesPublishedPortsNoDockerEndpointExplains(t *testing.T) {
	e := newEnv(t)
	e.clock.advance(DockerRetryWindow)
	ports := &fakePorts{pub: map[endpoint.ID][]endpoint.Mapping{}}
	e.r.ports = ports
	to := func(o object) []endpoint.Mapping {
		return []endpoint.Mapping{{Proto: endpoint.TCP, HostIP: netip.IPv4Unspecified(), HostPort: 8080,
			Container: netip.AddrPortFrom(o.ip, 80)}}
	}
	gone := e.made(t, "removed while the plugin was down")
	running := e.made(t, "running")
	e.container("running", "running", running)
	ports.pub[gone.eid] = to(gone)
	ports.pub[running.eid] = to(running)

	e.mustPass(t)
	if !ports.has(gone.eid) {
		t.Fatal("published ports removed after one pass, want two")
	}
	e.clock.advance(time.Minute)
	e.mustPass(t)
	if ports.has(gone.eid) {
		t.Error("published ports of the removed container left after two passes")
	}
	if !ports.has(running.eid) {
		t.Error("published ports of the running container removed")
	}
	if got := e.r.Stats().Ports; got != 1 {
		t.Errorf("stats: %d endpoints' ports removed, want 1", got)
	}
}

// Every pass, complete or not, has the ports put back what the kernel lost, and counts it.
func TestPassRepairsLostPortRules(t *testing.T) {
	e := newEnv(t)
	ports := &fakePorts{pub: map[endpoint.ID][]endpoint.Mapping{}, lost: 2}
	e.r.ports = ports
	e.mustPass(t)
	e.mustPass(t)
	ports.mu.Lock()
	repairs := ports.repairs
	ports.mu.Unlock()
	if repairs != 2 {
		t.Errorf("%d repairs in 2 passes, want 2", repairs)
	}
	if got := e.r.Stats().PortsRepaired; got != 2 {
		t.Errorf("stats: %d endpoints repaired, want 2", got)
	}
}

// A mapping whose address no agent endpoint of its own holds any more goes, though Docker still keeps a
// stale record of its endpoint (the plugin was down when the container stopped, and an agent restart
// then freed the address): else the next container to get the address would receive the public port.
func TestRemovesPublishedPortsWhoseAddressWentElsewhere(t *testing.T) {
	e := newEnv(t)
	e.clock.advance(DockerRetryWindow)
	ports := &fakePorts{pub: map[endpoint.ID][]endpoint.Mapping{}}
	e.r.ports = ports
	mapping := func(o object) []endpoint.Mapping {
		return []endpoint.Mapping{{Proto: endpoint.TCP, HostIP: netip.IPv4Unspecified(), HostPort: 8080,
			Container: netip.AddrPortFrom(o.ip, 80)}}
	}
	running := e.made(t, "running")
	e.container("running", "running", running)
	freed := e.made(t, "freed")
	e.container("freed", "exited", freed)
	reused := e.made(t, "reused")
	e.container("reused", "exited", reused)
	taker := e.made(t, "taker")
	e.container("taker", "running", taker)
	for _, o := range []object{freed, reused} { // the agent restarted and forgot them
		if _, err := e.ac.DeleteEndpoint(t.Context(), agent.AttachmentID(endpoint.Attachment(o.eid))); err != nil {
			t.Fatal(err)
		}
	}
	ports.pub[running.eid] = mapping(running)
	ports.pub[freed.eid] = mapping(freed)
	ports.pub[reused.eid] = mapping(taker) // its old address is the taker's now

	e.mustPass(t)
	e.clock.advance(time.Minute)
	e.mustPass(t)
	for name, o := range map[string]object{"freed": freed, "reused": reused} {
		if ports.has(o.eid) {
			t.Errorf("%s: published ports left after two passes", name)
		}
	}
	if !ports.has(running.eid) {
		t.Error("published ports of the running container removed")
	}
}
