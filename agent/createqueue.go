package agent

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// createQueue holds the endpoint creates in flight towards the agent to at most cap(slots). A create
// that finds every slot taken waits its turn for as long as the agent keeps answering the creates ahead
// of it: a burst of 100 starts queues here for minutes on an agent with its default API rate limits,
// and each start succeeds once its turn comes. It gives up only when the agent answered no create for
// a whole stall period while it waited (a frozen or wedged agent), or when its caller gave up.
type createQueue struct {
	slots chan struct{}

	mu       sync.Mutex
	answered chan struct{} // closed, and replaced, each time the agent answers a create
}

func newCreateQueue(n int) *createQueue {
	return &createQueue{slots: make(chan struct{}, n), answered: make(chan struct{})}
}

// acquire waits for a free slot and returns its release; see createQueue for when it gives up.
func (q *createQueue) acquire(ctx context.Context, stall time.Duration) (release func(), err error) {
	release = func() { <-q.slots }
	select {
	case q.slots <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(stall)
	defer t.Stop()
	for {
		select {
		case q.slots <- struct{}{}:
			return release, nil
		case <-q.next():
			t.Reset(stall) // the queue moves: wait on
		case <-t.C:
			return nil, fmt.Errorf("waiting for a free slot: none of the %d creates in flight was answered for %s: %w",
				cap(q.slots), stall, context.DeadlineExceeded)
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a free slot: %w", ctx.Err())
		}
	}
}

// next is closed when the agent next answers a create.
func (q *createQueue) next() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.answered
}

// answer records that the agent answered a create (with success or an error of its own, not a
// timeout): the creates waiting for a slot start their stall period again.
func (q *createQueue) answer() {
	q.mu.Lock()
	defer q.mu.Unlock()
	close(q.answered)
	q.answered = make(chan struct{})
}
