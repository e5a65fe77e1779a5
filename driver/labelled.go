package driver

import (
	"sync"
	"time"
)

// labelledTTL bounds how long a Join's record waits for its container's start event.
const labelledTTL = 2 * time.Minute

// Labelled records the containers whose endpoints a Join created under their labels, so that the label
// sync skips their start event: its reads (a container inspect, which waits for the start to let go of
// the container, and an endpoint read, which the agent rate-limits) would only confirm what the Join
// wrote. A container's labels cannot change after it was created. Records age out after labelledTTL;
// the resync on every event-stream connect still covers every container.
type Labelled struct {
	mu  sync.Mutex
	at  map[string]time.Time // container ID -> when its Join applied the labels; guarded by mu
	now func() time.Time
}

// NewLabelled returns an empty record.
func NewLabelled() *Labelled {
	return &Labelled{at: map[string]time.Time{}, now: time.Now}
}

// add records that a Join created container id's endpoint under its labels.
func (l *Labelled) add(id string) {
	if id == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for k, t := range l.at {
		if now.Sub(t) > labelledTTL {
			delete(l.at, k)
		}
	}
	l.at[id] = now
}

// take reports whether a Join applied container id's labels. The record stays until it ages out:
// Docker sends two events per start (network connect, then container start).
func (l *Labelled) take(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.at[id]
	return ok && l.now().Sub(t) <= labelledTTL
}

// Len is how many records wait for their start event.
func (l *Labelled) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.at)
}
