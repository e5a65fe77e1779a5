package driver_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

var _ driver.Links = (*fakeLinks)(nil)

// fakeLinks is an in-memory driver.Links: it keeps the veth pairs the real one would make, records
// each call as an `ip link` style line, and fails an operation on request.
type fakeLinks struct {
	mu    sync.Mutex
	links map[endpoint.ID]*endpoint.Link // by endpoint ID; guarded by mu
	calls []string                       // guarded by mu
	fail  map[string]error               // op ("create", "get", "delete") -> error; guarded by mu
	next  int                            // last ifindex handed out; guarded by mu
}

func newFakeLinks() *fakeLinks {
	return &fakeLinks{links: map[endpoint.ID]*endpoint.Link{}, fail: map[string]error{}, next: 40}
}

// failOn makes every later op fail with err; nil clears it.
func (f *fakeLinks) failOn(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fail, op)
		return
	}
	f.fail[op] = err
}

func (f *fakeLinks) Create(_ context.Context, s endpoint.Spec) (*endpoint.Link, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := endpoint.NamesFor(s.EndpointID)
	f.calls = append(f.calls, fmt.Sprintf("ip link add %s mtu %d type veth peer name %s address %s",
		n.Host, s.MTU, n.Container, s.ContainerMAC))
	if err := f.fail["create"]; err != nil {
		return nil, err
	}
	if l, ok := f.links[s.EndpointID]; ok {
		c := *l
		return &c, nil
	}
	mac := s.ContainerMAC
	if mac == nil {
		mac = endpoint.MACFor(s.EndpointID, endpoint.ContainerSide)
	}
	f.next++
	l := &endpoint.Link{Names: n, HostIndex: f.next, HostMAC: endpoint.MACFor(s.EndpointID, endpoint.HostSide),
		ContainerMAC: mac, MTU: s.MTU, NetworkID: s.NetworkID, IPv4: s.IPv4, IPv6: s.IPv6}
	f.links[s.EndpointID] = l
	c := *l
	return &c, nil
}

func (f *fakeLinks) Get(_ context.Context, endpointID endpoint.ID) (*endpoint.Link, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := endpoint.NamesFor(endpointID)
	f.calls = append(f.calls, "ip -d link show dev "+n.Host)
	if err := f.fail["get"]; err != nil {
		return nil, err
	}
	l, ok := f.links[endpointID]
	if !ok {
		return nil, fmt.Errorf("get veth %q: %w", n.Host, endpoint.ErrNotFound)
	}
	c := *l
	return &c, nil
}

func (f *fakeLinks) Delete(_ context.Context, endpointID endpoint.ID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := endpoint.NamesFor(endpointID)
	f.calls = append(f.calls, "ip link del dev "+n.Host)
	if err := f.fail["delete"]; err != nil {
		return err
	}
	delete(f.links, endpointID)
	return nil
}

// Calls returns the transcript of every call so far.
func (f *fakeLinks) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// The fake kernel's transcript lines for the endpoint hexID("ep"): its names (lxc/tmp + hash) and the
// agent's route MTU; Docker gave no MAC address.
const (
	addEp  = "ip link add lxca1c3edd3483 mtu 1450 type veth peer name tmpa1c3edd3483 address "
	showEp = "ip -d link show dev lxca1c3edd3483"
	delEp  = "ip link del dev lxca1c3edd3483"
)

// wantCalls fails the test unless the whole transcript so far is want.
func (f *fakeLinks) wantCalls(t *testing.T, want ...string) {
	t.Helper()
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("kernel transcript:\ngot  %q\nwant %q", got, want)
	}
}

// has reports whether the endpoint has a veth pair.
func (f *fakeLinks) has(endpointID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.links[endpoint.MustParseID(endpointID)]
	return ok
}

func (f *fakeLinks) link(endpointID string) *endpoint.Link {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.links[endpoint.MustParseID(endpointID)]; ok {
		c := *l
		return &c
	}
	return nil
}
