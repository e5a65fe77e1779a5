package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/backoff"
)

func TestDoublesUpToTheLimitAndResets(t *testing.T) {
	b := backoff.New(time.Millisecond, 4*time.Millisecond)
	var got []time.Duration
	for range 4 {
		got = append(got, b.Next())
		start := time.Now()
		if !b.Wait(context.Background()) {
			t.Fatal("Wait gave up without a done context")
		}
		if took := time.Since(start); took < got[len(got)-1]/2 {
			t.Fatalf("waited %s, want at least half of %s", took, got[len(got)-1])
		}
	}
	want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waits %v, want %v", got, want)
		}
	}
	b.Reset()
	if b.Next() != time.Millisecond {
		t.Fatalf("after Reset: %s", b.Next())
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	b := backoff.New(time.Hour, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if b.Wait(ctx) {
		t.Fatal("Wait slept through a done context")
	}
	if time.Since(start) > time.Second {
		t.Fatal("Wait did not return at once")
	}
}
