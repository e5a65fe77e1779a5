package ipam_test

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/ipam"
)

func TestReleaseAddress(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the address to release.
		setup        func(t *testing.T, c *ipam.Core, b *ipam.Book) netip.Addr
		wantReleased bool // the agent got DELETE /v1/ipam/{ip}?pool=default
	}{
		{"allocated, never bound", func(t *testing.T, c *ipam.Core, _ *ipam.Book) netip.Addr {
			return request(t, c, netip.Addr{})
		}, true},
		{"claimed, never bound", func(t *testing.T, c *ipam.Core, _ *ipam.Book) netip.Addr {
			return request(t, c, netip.MustParseAddr("10.77.9.9"))
		}, true},
		{"router", func(*testing.T, *ipam.Core, *ipam.Book) netip.Addr { return router }, false},
		{"unknown", func(*testing.T, *ipam.Core, *ipam.Book) netip.Addr { return netip.MustParseAddr("10.77.1.1") }, false},
		{"bound to a live endpoint", func(t *testing.T, c *ipam.Core, b *ipam.Book) netip.Addr {
			ip := request(t, c, netip.Addr{})
			b.Bound(ip)
			return ip
		}, false},
		{"freed by the agent with its endpoint", func(t *testing.T, c *ipam.Core, b *ipam.Book) netip.Addr {
			ip := request(t, c, netip.Addr{})
			b.Bound(ip)
			b.FreedByAgent(ip)
			return ip
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agenttest.New(t)
			c, b := newCore(t, a, 5*time.Second)
			ip := tt.setup(t, c, b)
			if err := c.ReleaseAddress(context.Background(), ipam.PoolV4, ip); err != nil {
				t.Fatalf("ReleaseAddress(%s): %v", ip, err)
			}
			rel := a.RequestsTo(agenttest.RouteRelease)
			if !tt.wantReleased {
				if len(rel) != 0 {
					t.Errorf("agent release calls: got %d (%s), want none", len(rel), rel[0].Path)
				}
				return
			}
			if len(rel) != 1 || rel[0].Path != "/v1/ipam/"+ip.String() || rel[0].Query.Get("pool") != "default" {
				t.Fatalf("agent release calls: got %+v, want one DELETE /v1/ipam/%s?pool=default", rel, ip)
			}
			if _, held := a.Allocated()[ip]; held {
				t.Errorf("%s still allocated at the agent", ip)
			}
			// Docker's retry of the same release must not free the address again: it may be
			// someone else's by now.
			if err := c.ReleaseAddress(context.Background(), ipam.PoolV4, ip); err != nil {
				t.Fatalf("second ReleaseAddress: %v", err)
			}
			if n := len(a.RequestsTo(agenttest.RouteRelease)); n != 1 {
				t.Errorf("agent release calls after a second release: got %d, want 1", n)
			}
		})
	}
}

func request(t *testing.T, c *ipam.Core, want netip.Addr) netip.Addr {
	t.Helper()
	p, err := c.RequestAddress(context.Background(), ipam.PoolV4, want)
	if err != nil {
		t.Fatalf("RequestAddress: %v", err)
	}
	return p.Addr()
}

func TestReleaseAddressAgentFails(t *testing.T) {
	a := agenttest.New(t)
	c, _ := newCore(t, a, 5*time.Second)
	ip := request(t, c, netip.Addr{})
	a.SetFault(agenttest.RouteRelease, agenttest.Fault{Status: 500, Times: 1})
	if err := c.ReleaseAddress(context.Background(), ipam.PoolV4, ip); err == nil {
		t.Fatal("ReleaseAddress with a failing agent: got success, want an error")
	}
	// The address is still ours: a retry frees it.
	if err := c.ReleaseAddress(context.Background(), ipam.PoolV4, ip); err != nil {
		t.Fatalf("retried ReleaseAddress: %v", err)
	}
	if _, held := a.Allocated()[ip]; held {
		t.Errorf("%s still allocated after the retried release", ip)
	}
}

// releaseHook is the real agent client with a hook that runs right after a successful release.
type releaseHook struct {
	*agent.Client
	after func(ip netip.Addr)
}

var _ ipam.Agent = (*releaseHook)(nil)

func (h *releaseHook) Release(ctx context.Context, ip netip.Addr) error {
	err := h.Client.Release(ctx, ip)
	if err == nil && h.after != nil {
		after := h.after
		h.after = nil
		after(ip)
	}
	return err
}

// TestReleaseRace hands an address out again between the agent's release of it and the book's
// update: the new allocation must stay on the books, so that its own release still frees it.
func TestReleaseRace(t *testing.T) {
	a := agenttest.New(t)
	cl, err := agent.New(a.Addr(), agent.Timeouts{})
	if err != nil {
		t.Fatal(err)
	}
	h := &releaseHook{Client: cl}
	c := ipam.New(ipam.Deps{Agent: h, Book: ipam.NewBook(), Tracker: noTracker{}})
	ctx := context.Background()
	ip := request(t, c, netip.Addr{})
	h.after = func(ip netip.Addr) { request(t, c, ip) } // another container gets the address at once
	if err := c.ReleaseAddress(ctx, ipam.PoolV4, ip); err != nil {
		t.Fatalf("ReleaseAddress: %v", err)
	}
	if owner := a.Allocated()[ip]; owner != "cilium-docker" {
		t.Fatalf("owner of %s after it was handed out again: got %q, want cilium-docker", ip, owner)
	}
	// The second container never starts: Docker releases its address, which must reach the agent.
	if err := c.ReleaseAddress(ctx, ipam.PoolV4, ip); err != nil {
		t.Fatalf("ReleaseAddress: %v", err)
	}
	if owner, held := a.Allocated()[ip]; held {
		t.Errorf("%s leaked: still allocated to %q after the second container's release", ip, owner)
	}
}

// TestReleaseAfterReuse: the agent freed an address with its endpoint (Leave) and handed it to a
// new container before Docker's ReleaseAddress for the old container arrived. That late release
// must not free the new container's address.
func TestReleaseAfterReuse(t *testing.T) {
	a := agenttest.New(t)
	cl, err := agent.New(a.Addr(), agent.Timeouts{})
	if err != nil {
		t.Fatal(err)
	}
	book := ipam.NewBook()
	c := ipam.New(ipam.Deps{Agent: cl, Book: book, Tracker: noTracker{}})
	ctx := context.Background()
	ip := request(t, c, netip.Addr{}) // the old container
	book.Bound(ip)
	// Leave: the agent deletes the endpoint and frees its address.
	if err := cl.Release(ctx, ip); err != nil {
		t.Fatal(err)
	}
	book.FreedByAgent(ip)
	request(t, c, ip) // the new container gets the same address
	before := len(a.RequestsTo(agenttest.RouteRelease))
	if err := c.ReleaseAddress(ctx, ipam.PoolV4, ip); err != nil { // the old container's late release
		t.Fatalf("late ReleaseAddress: %v", err)
	}
	if owner := a.Allocated()[ip]; owner != "cilium-docker" {
		t.Fatalf("the old container's late release freed the new container's %s", ip)
	}
	if n := len(a.RequestsTo(agenttest.RouteRelease)) - before; n != 0 {
		t.Errorf("agent release calls for the late release: got %d, want 0", n)
	}
	// The new container never starts: its own release frees the address.
	if err := c.ReleaseAddress(ctx, ipam.PoolV4, ip); err != nil {
		t.Fatal(err)
	}
	if _, held := a.Allocated()[ip]; held {
		t.Errorf("%s still allocated after the new container's release", ip)
	}
}

// touches records the addresses a handler marked as worked on.
type touches struct {
	mu  sync.Mutex
	ips []netip.Addr // guarded by mu
}

func (tr *touches) Address(ip netip.Addr) func() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.ips = append(tr.ips, ip)
	return func() {}
}

// A release this process has nothing to do for (the address was handed out by the previous process)
// marks nothing in flight: the reconciler frees it at its next pass instead of one later.
func TestReleaseOfUnknownAddressTouchesNothing(t *testing.T) {
	a := agenttest.New(t)
	tr := &touches{}
	c, _ := newCoreTracked(t, a, 2*time.Second, tr)
	unknown := netip.MustParseAddr("10.77.3.3")
	a.Allocate(unknown, ipam.Owner)
	if err := c.ReleaseAddress(context.Background(), ipam.PoolV4, unknown); err != nil {
		t.Fatal(err)
	}
	p, err := c.RequestAddress(context.Background(), ipam.PoolV4, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReleaseAddress(context.Background(), ipam.PoolV4, p.Addr()); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if want := []netip.Addr{p.Addr(), p.Addr()}; !slices.Equal(tr.ips, want) {
		t.Errorf("addresses marked in flight: %v, want %v (the allocation and its release, not the unknown one)", tr.ips, want)
	}
}
