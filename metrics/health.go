package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// HealthTTL is how long a health answer is reused: /healthz makes at most one check (one agent call)
// per HealthTTL however often it is asked, and the requests that arrive during a check share it.
const HealthTTL = time.Second

// healthTimeout bounds one health check.
const healthTimeout = 2 * time.Second

// HealthError names the part of the plugin a health check found unhealthy. /healthz answers with Part
// alone ("unhealthy: agent"): Err may hold socket paths and the agent's address, which the log gets.
type HealthError struct {
	Part string // fixed words: "agent", "plugin socket"
	Err  error
}

// Error is the whole error, for the log.
func (e *HealthError) Error() string { return e.Part + ": " + e.Err.Error() }

// Unwrap returns the check's error.
func (e *HealthError) Unwrap() error { return e.Err }

// Health is a health check with its answer cached for HealthTTL; Check is what Handler takes.
type Health struct {
	log   *logrus.Entry
	check func(context.Context) error
	now   func() time.Time

	mu     sync.Mutex
	last   *healthRun // guarded by mu: the last finished check; nil before the first
	flight *healthRun // guarded by mu: the check under way; nil when none
}

// healthRun is one call of the check.
type healthRun struct {
	done    chan struct{} // closed when err and at are set
	err     error
	at      time.Time // when it finished
	waiters int       // guarded by Health.mu: the requests that wait for it besides its own
}

// NewHealth caches check. Each change of its answer is logged on log with the whole error, once.
func NewHealth(log *logrus.Entry, check func(context.Context) error) *Health {
	return &Health{log: log, check: check, now: time.Now}
}

// Check returns the answer of a check that finished less than HealthTTL ago, or of the one under way,
// or runs one. The check runs under its own deadline (healthTimeout), not cut short by the request
// that started it, since others share its answer; ctx bounds only this caller's wait.
func (h *Health) Check(ctx context.Context) error {
	h.mu.Lock()
	if l := h.last; l != nil && h.now().Sub(l.at) < HealthTTL {
		h.mu.Unlock()
		return l.err
	}
	if f := h.flight; f != nil {
		f.waiters++
		h.mu.Unlock()
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return fmt.Errorf("waiting for the health check: %w", ctx.Err())
		}
	}
	f := &healthRun{done: make(chan struct{})}
	h.flight = f
	h.mu.Unlock()

	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthTimeout)
	err := h.check(cctx)
	cancel()

	h.mu.Lock()
	prev := h.last
	f.err, f.at = err, h.now()
	h.last, h.flight = f, nil
	h.mu.Unlock()
	close(f.done)
	h.logChange(prev, err)
	return err
}

// logChange logs an answer that differs from the one before: the detail /healthz leaves out.
func (h *Health) logChange(prev *healthRun, err error) {
	switch {
	case err == nil && (prev == nil || prev.err == nil):
	case err == nil:
		h.log.Info("healthy again")
	case prev == nil || prev.err == nil || prev.err.Error() != err.Error():
		h.log.WithError(err).Warn("unhealthy: /healthz answers 503")
	}
}

// healthText is /healthz's answer to err: fixed words, never the error's text.
func healthText(err error) string {
	if err == nil {
		return "ok"
	}
	if he, ok := errors.AsType[*HealthError](err); ok {
		return "unhealthy: " + he.Part
	}
	return "unhealthy"
}
