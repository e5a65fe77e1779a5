package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// links stands for the node's owned host links during a dockerd shutdown.
type links struct {
	mu sync.Mutex
	n  int // guarded by mu
}

func (l *links) ListOwned(context.Context) ([]endpoint.Link, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return make([]endpoint.Link, l.n), nil
}

func (l *links) set(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n = n
}

func TestDrain(t *testing.T) {
	l := &links{n: 2}
	done := make(chan time.Time, 1)
	go func() {
		drain(context.Background(), servertest.Log(), l, 20*time.Second)
		done <- time.Now()
	}()
	select {
	case <-done:
		t.Fatal("drain returned while links were left")
	case <-time.After(3 * drainPoll):
	}
	gone := time.Now()
	l.set(0) // the last container was torn down
	select {
	case at := <-done:
		if d := at.Sub(gone); d < drainTail {
			t.Errorf("drain returned %v after the last link went, want at least the %v tail", d, drainTail)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("drain did not return within 5s of the last link going")
	}

	t0 := time.Now()
	drain(context.Background(), servertest.Log(), &links{n: 1}, 300*time.Millisecond)
	if d := time.Since(t0); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("drain with links left returned after %v, want its 300ms bound", d)
	}
	t0 = time.Now()
	drain(context.Background(), servertest.Log(), &links{n: 1}, 0)
	if d := time.Since(t0); d > 100*time.Millisecond {
		t.Errorf("drain 0 took %v, want at once", d)
	}
}
