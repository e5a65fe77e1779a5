package reconcile

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

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
	e.r.WithPorts(ports)
	m := endpoint.Mapping{Proto: endpoint.TCP, HostIP: netip.IPv4Unspecified(), HostPort: 8080,
		Container: netip.MustParseAddrPort("10.77.1.9:80")}
	gone := e.made(t, "removed while the plugin was down")
	running := e.made(t, "running")
	e.container("running", "running", running)
	ports.pub[gone.eid] = []endpoint.Mapping{m}
	ports.pub[running.eid] = []endpoint.Mapping{m}

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
	e.r.WithPorts(ports)
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
