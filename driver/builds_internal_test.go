package driver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

func TestBuildsForgetAndPrune(t *testing.T) {
	b := NewBuilds()
	now := time.Unix(1000, 0)
	b.now = func() time.Time { return now }
	a, c := endpoint.MustParseID(hexOf('a')), endpoint.MustParseID(hexOf('c'))

	release := make(chan struct{})
	if !b.Start(a, func() error { <-release; return errors.New("refused") }) {
		t.Fatal("start refused a first create")
	}
	if b.Start(a, func() error { return nil }) {
		t.Error("start ran a second create for the same endpoint")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if err := b.Forget(ctx, a); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("forget of a create in flight past its deadline: got %v, want DeadlineExceeded", err)
	}
	cancel()
	close(release)
	if known, err := b.Wait(context.Background(), a); !known || err == nil || err.Error() != "refused" {
		t.Errorf("wait: got %v %v, want known and the create's error", known, err)
	}
	if err := b.Forget(context.Background(), a); err != nil || b.Has(a) {
		t.Errorf("forget of an ended create: %v, record left %v", err, b.Has(a))
	}
	if known, err := b.Wait(context.Background(), a); known || err != nil {
		t.Errorf("wait after forget: got %v %v, want unknown and nil", known, err)
	}

	// A record nobody forgot goes buildKeep after its end, at the next start.
	b.Start(a, func() error { return nil })
	if _, err := b.Wait(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	now = now.Add(buildKeep + time.Second)
	b.Start(c, func() error { return nil })
	if b.Has(a) || !b.Has(c) {
		t.Errorf("after buildKeep: has(a)=%v has(c)=%v, want false true", b.Has(a), b.Has(c))
	}
	b.Stop()
}

func hexOf(c byte) string {
	out := make([]byte, 64)
	for i := range out {
		out[i] = c
	}
	return string(out)
}
