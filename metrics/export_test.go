package metrics

import "time"

// SetClock makes h read the time from now.
func (h *Health) SetClock(now func() time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = now
}

// Waiters returns how many requests wait for the check under way besides the one that runs it.
func (h *Health) Waiters() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.flight == nil {
		return 0
	}
	return h.flight.waiters
}
