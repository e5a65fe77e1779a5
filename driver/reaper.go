package driver

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

// reapTimeout bounds the deletion of one veth pair by the reaper.
const reapTimeout = 10 * time.Second

// Reaper deletes the veth pairs of endpoints Docker deleted, after DeleteEndpoint answered. Deleting a
// veth waits for the kernel's RCU grace period (10 to 20 ms on the bed), on the path of every `docker
// stop`, `rm` and `run --rm`; nothing Docker does next needs the pair gone: its addresses went with the
// agent endpoint at Leave, and its names are the endpoint's own, never reused. While the reaper does
// not run (before Run, after it returned) DeleteEndpoint deletes the pair itself. A pair the reaper could
// not delete (the process died first) is the reconciler's: it is a plugin link no endpoint owns.
type Reaper struct {
	log   *logrus.Entry
	links Links
	track Tracker

	mu      sync.Mutex
	running bool                   // guarded by mu
	pending map[endpoint.ID]func() // guarded by mu; value: the tracker's done
	order   []endpoint.ID          // guarded by mu; pending in arrival order
	wake    chan struct{}          // capacity 1
}

// NewReaper returns a reaper that deletes through links and marks what it holds in t.
func NewReaper(log *logrus.Entry, links Links, t Tracker) *Reaper {
	return &Reaper{log: log, links: links, track: t, pending: map[endpoint.ID]func(){}, wake: make(chan struct{}, 1)}
}

// Delete hands the pair of eid to the reaper, or, when the reaper does not run, deletes it now. A pair
// already handed over is success.
func (r *Reaper) Delete(ctx context.Context, eid endpoint.ID) error {
	r.mu.Lock()
	if !r.running {
		r.mu.Unlock()
		return r.links.Delete(ctx, eid)
	}
	if _, ok := r.pending[eid]; !ok {
		r.pending[eid] = r.track.Endpoint(eid)
		r.order = append(r.order, eid)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// Running reports whether Run is deleting handed-over pairs.
func (r *Reaper) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

// Pending is how many pairs wait for deletion.
func (r *Reaper) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.order)
}

// Run deletes handed-over pairs until ctx is done, then deletes what is left and returns. Run it once.
func (r *Reaper) Run(ctx context.Context) error {
	r.mu.Lock()
	r.running = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		r.mu.Unlock()
		r.reapAll() // what came before the stop: Delete deletes by itself from now on
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
			r.reapAll()
		}
	}
}

// reapAll deletes every pending pair, oldest first.
func (r *Reaper) reapAll() {
	for {
		r.mu.Lock()
		if len(r.order) == 0 {
			r.mu.Unlock()
			return
		}
		eid := r.order[0]
		r.order = r.order[1:]
		done := r.pending[eid]
		r.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), reapTimeout)
		if err := r.links.Delete(ctx, eid); err != nil {
			r.log.WithError(err).WithField("endpoint", eid).Warn("delete veth of a deleted endpoint; the reconciler removes it later")
		}
		cancel()

		r.mu.Lock()
		delete(r.pending, eid)
		r.mu.Unlock()
		done()
	}
}
