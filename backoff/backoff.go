package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the next wait of one loop; its zero value is not ready, use New. Not safe for concurrent use:
// it belongs to the loop's goroutine.
type Backoff struct {
	first, limit, next time.Duration
}

// New returns a backoff that starts at first and doubles up to limit.
func New(first, limit time.Duration) *Backoff {
	return &Backoff{first: first, limit: max(first, limit), next: first}
}

// Reset makes the next wait the shortest again (the loop did well).
func (b *Backoff) Reset() { b.next = b.first }

// Next is the wait before the next attempt, without jitter, as Wait will use it.
func (b *Backoff) Next() time.Duration { return b.next }

// Wait sleeps the next wait, jittered to between a half and one and a half of it, then doubles the one
// after (up to the limit). It returns false, at once, when ctx is done first.
func (b *Backoff) Wait(ctx context.Context) bool {
	d := b.next/2 + rand.N(b.next+1)
	b.next = min(2*b.next, b.limit)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
