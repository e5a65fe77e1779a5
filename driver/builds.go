package driver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

// Builds runs the agent endpoint creates that Joins hand over instead of waiting for them, and hands
// each result to the ProgramExternalConnectivity of the same endpoint, which waits for it. Docker sends
// that call to the endpoint of a container that joins one network only, before the container's process
// starts; on Docker 29 it comes after Docker has set up the sandbox (the interface moved in, its
// addresses and routes, the embedded DNS's rules: 25 to 30 ms on the bed), and the agent builds the
// endpoint meanwhile. Every other Join waits for its create as before.
//
// The owner (serve) calls Stop once the socket no longer serves; Stop waits for the creates in flight, each
// bounded by the agent client's endpoint deadline.
type Builds struct {
	mu sync.Mutex
	// m holds the creates of this process's Joins, handed over or not; guarded by mu; a record goes when
	// Leave or DeleteEndpoint forgets it, or buildKeep after its end
	m       map[endpoint.ID]*build
	stopped bool // guarded by mu
	wg      sync.WaitGroup
	now     func() time.Time
}

// buildKeep is how long the result of a create nobody forgot is kept (Docker repeats a call within
// seconds; an endpoint whose Leave never came, dockerd having died, is the reconciler's).
const buildKeep = 2 * time.Minute

// build is one create of a Join, handed over or done by the Join itself (then done is closed from the
// start); err and ended are set before done closes.
type build struct {
	done  chan struct{}
	err   error
	ended time.Time
}

// NewBuilds returns an empty set.
func NewBuilds() *Builds {
	return &Builds{m: map[endpoint.ID]*build{}, now: time.Now}
}

// Has reports whether a Join of this process created eid's agent endpoint or handed its create over (and
// it is not forgotten): a repeated Join makes none.
func (b *Builds) Has(eid endpoint.ID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.m[eid]
	return ok
}

// Start runs create for eid in a goroutine of its own and records it. It returns false, and runs
// nothing, when b is stopped or holds eid already: the caller then creates by itself.
func (b *Builds) Start(eid endpoint.ID, create func() error) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return false
	}
	if _, ok := b.m[eid]; ok {
		return false
	}
	b.prune()
	bd := &build{done: make(chan struct{})}
	b.m[eid] = bd
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		err := create()
		b.mu.Lock()
		bd.err, bd.ended = err, b.now()
		b.mu.Unlock()
		close(bd.done)
	}()
	return true
}

// prune drops the records of creates that ended more than buildKeep ago; call it with mu held.
func (b *Builds) prune() {
	for eid, bd := range b.m {
		select {
		case <-bd.done:
			if b.now().Sub(bd.ended) > buildKeep {
				delete(b.m, eid)
			}
		default:
		}
	}
}

// Joined records that a Join of this process created eid's agent endpoint by itself.
func (b *Builds) Joined(eid endpoint.ID) {
	done := make(chan struct{})
	close(done)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[eid]; !ok {
		b.prune()
		b.m[eid] = &build{done: done, ended: b.now()}
	}
}

// Wait returns the result of eid's create once it is done, and whether this process knows of one: false
// when the Join came to another process (this one restarted since) or its record is gone. The result
// stays: a repeated call gets it again.
func (b *Builds) Wait(ctx context.Context, eid endpoint.ID) (known bool, err error) {
	b.mu.Lock()
	bd, ok := b.m[eid]
	b.mu.Unlock()
	if !ok {
		return false, nil
	}
	select {
	case <-bd.done:
		return true, bd.err
	case <-ctx.Done():
		return true, fmt.Errorf("endpoint %s: waiting for cilium-agent to build it: %w", eid, ctx.Err())
	}
}

// Forget waits for eid's handed-over create to end, whatever its result, and drops the record, so that
// what Leave and DeleteEndpoint undo is not made after them. Nothing handed over is success.
func (b *Builds) Forget(ctx context.Context, eid endpoint.ID) error {
	b.mu.Lock()
	bd, ok := b.m[eid]
	b.mu.Unlock()
	if !ok {
		return nil
	}
	select {
	case <-bd.done:
	case <-ctx.Done():
		return fmt.Errorf("endpoint %s: cilium-agent is still creating it: %w", eid, ctx.Err())
	}
	b.mu.Lock()
	if b.m[eid] == bd {
		delete(b.m, eid)
	}
	b.mu.Unlock()
	return nil
}

// Stop makes every later Join create by itself, and waits for the creates in flight.
func (b *Builds) Stop() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.wg.Wait()
}
