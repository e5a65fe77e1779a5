package driver_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
)

// gatedLinks holds every Delete until the test opens the gate.
type gatedLinks struct {
	*fakeLinks
	gate    chan struct{}
	entered chan endpoint.ID
}

func (g *gatedLinks) Delete(ctx context.Context, eid endpoint.ID) error {
	g.entered <- eid
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.fakeLinks.Delete(ctx, eid)
}

// countTracker counts the endpoints held in flight.
type countTracker struct {
	mu   sync.Mutex
	held map[endpoint.ID]int
}

func (c *countTracker) Endpoint(eid endpoint.ID) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held[eid]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.held[eid]--
	}
}

func (c *countTracker) Address(netip.Addr) func() { return func() {} }

func (c *countTracker) count(eid endpoint.ID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held[eid]
}

func quietLog() *logrus.Entry {
	l, _ := test.NewNullLogger()
	return logrus.NewEntry(l)
}

func makeLink(t *testing.T, f *fakeLinks, name string) endpoint.ID {
	t.Helper()
	eid := endpoint.MustParseID(hexID(name))
	if _, err := f.Create(context.Background(), endpoint.Spec{EndpointID: eid, NetworkID: endpoint.MustParseNetworkID(hexID("net")), MTU: 1500}); err != nil {
		t.Fatal(err)
	}
	return eid
}

func TestReaperNotRunningDeletesAtOnce(t *testing.T) {
	links := newFakeLinks()
	eid := makeLink(t, links, "ep")
	r := driver.NewReaper(quietLog(), links, noTracker{})
	if err := r.Delete(context.Background(), eid); err != nil {
		t.Fatal(err)
	}
	if links.has(eid.String()) {
		t.Fatal("a reaper that does not run left the pair for later")
	}
}

func TestReaperDeletesAfterAnswering(t *testing.T) {
	g := &gatedLinks{fakeLinks: newFakeLinks(), gate: make(chan struct{}), entered: make(chan endpoint.ID, 4)}
	eid := makeLink(t, g.fakeLinks, "ep")
	tr := &countTracker{held: map[endpoint.ID]int{}}
	r := driver.NewReaper(quietLog(), g, tr)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- r.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "the reaper to run", func() error {
		if !r.Running() {
			return errors.New("not running")
		}
		return nil
	})

	// The answer comes while the kernel delete is still held at the gate.
	for i := range 2 { // Docker may repeat DeleteEndpoint
		if err := r.Delete(context.Background(), eid); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if got := <-g.entered; got != eid {
		t.Fatalf("reaper deleted %s, want %s", got, eid)
	}
	if !g.has(eid.String()) {
		t.Fatal("pair gone before the gate opened")
	}
	if tr.count(eid) != 1 {
		t.Fatalf("pending pair held %d times in flight, want 1 (the reconciler must not race it)", tr.count(eid))
	}
	g.gate <- struct{}{}
	testkit.Eventually(t, 5*time.Second, "the pair to be deleted", func() error {
		if g.has(eid.String()) || r.Pending() != 0 {
			return fmt.Errorf("pair there: %v, pending deletes: %d", g.has(eid.String()), r.Pending())
		}
		return nil
	})
	testkit.Eventually(t, 5*time.Second, "the in-flight mark to drop", func() error {
		if n := tr.count(eid); n != 0 {
			return fmt.Errorf("%d marks", n)
		}
		return nil
	})
	select {
	case eid := <-g.entered:
		t.Fatalf("a repeated Delete reached the kernel again for %s", eid)
	default:
	}

	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestReaperFailureIsGivenUp(t *testing.T) {
	links := newFakeLinks()
	a := makeLink(t, links, "a")
	tr := &countTracker{held: map[endpoint.ID]int{}}
	r := driver.NewReaper(quietLog(), links, tr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "the reaper to run", func() error {
		if !r.Running() {
			return errors.New("not running")
		}
		return nil
	})
	links.failOn("delete", errors.New("kernel busy"))
	if err := r.Delete(context.Background(), a); err != nil {
		t.Fatalf("Delete answered the reaper's later failure: %v", err)
	}
	testkit.Eventually(t, 5*time.Second, "the failed delete to be given up", func() error {
		if r.Pending() != 0 || tr.count(a) != 0 {
			return fmt.Errorf("pending deletes: %d, in-flight marks: %d", r.Pending(), tr.count(a))
		}
		return nil
	})
	if !links.has(a.String()) {
		t.Fatal("pair gone although its delete failed")
	}
}

func TestReaperStopDeletesWhatIsLeft(t *testing.T) {
	g := &gatedLinks{fakeLinks: newFakeLinks(), gate: make(chan struct{}), entered: make(chan endpoint.ID, 4)}
	a, b, c := makeLink(t, g.fakeLinks, "a"), makeLink(t, g.fakeLinks, "b"), makeLink(t, g.fakeLinks, "c")
	r := driver.NewReaper(quietLog(), g, noTracker{})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- r.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "the reaper to run", func() error {
		if !r.Running() {
			return errors.New("not running")
		}
		return nil
	})
	for _, eid := range []endpoint.ID{a, b} {
		if err := r.Delete(context.Background(), eid); err != nil {
			t.Fatal(err)
		}
	}
	<-g.entered // a is held at the gate, b waits behind it
	cancel()
	close(g.gate)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if g.has(a.String()) || g.has(b.String()) {
		t.Fatalf("pairs left after the reaper stopped: a %v, b %v", g.has(a.String()), g.has(b.String()))
	}
	if err := r.Delete(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if g.has(c.String()) {
		t.Fatal("Delete after the reaper stopped did not delete at once")
	}
}
