package driver_test

import (
	"context"
	"net/netip"
	"sync"

	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

var _ driver.Ports = (*fakePorts)(nil)

// fakePorts records what the driver publishes, by endpoint.
type fakePorts struct {
	mu   sync.Mutex
	pub  map[endpoint.ID][]endpoint.Binding // guarded by mu
	ctr  map[endpoint.ID]netip.Addr         // guarded by mu
	fail error                              // Publish's answer when set; guarded by the test's order
}

func newFakePorts() *fakePorts {
	return &fakePorts{pub: map[endpoint.ID][]endpoint.Binding{}, ctr: map[endpoint.ID]netip.Addr{}}
}

func (f *fakePorts) Publish(_ context.Context, eid endpoint.ID, ctr netip.Addr, bs []endpoint.Binding) ([]endpoint.Mapping, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pub[eid], f.ctr[eid] = bs, ctr
	ms := make([]endpoint.Mapping, len(bs))
	for i, b := range bs {
		ms[i] = endpoint.Mapping{Proto: b.Proto, HostIP: netip.IPv4Unspecified(), HostPort: b.HostPort, Container: netip.AddrPortFrom(ctr, b.Port)}
	}
	return ms, nil
}

func (f *fakePorts) Unpublish(_ context.Context, eid endpoint.ID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.pub, eid)
	delete(f.ctr, eid)
	return nil
}

func (f *fakePorts) published(eid endpoint.ID) []endpoint.Binding {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pub[eid]
}

func (f *fakePorts) container(eid endpoint.ID) netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ctr[eid]
}

func (f *fakePorts) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.pub)
	clear(f.ctr)
}
