package testbed

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// errTimeout is a poll that ran out of time.
var errTimeout = errors.New("timed out")

// poll calls check every pollEvery until it reports done, returns an error, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, check func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, errTimeout)
		case <-tick.C:
		}
	}
}

// waitFor polls ok until it holds, failing at once when the node's daemon (if named) has exited.
func (c Config) waitFor(nd Node, label string, timeout time.Duration, daemon string, ok func() bool) error {
	t0 := time.Now()
	err := poll(context.Background(), timeout, func() (bool, error) {
		if ok() {
			return true, nil
		}
		if daemon != "" {
			if _, running := RecordedPID(nd.Dir, daemon); !running {
				return false, fmt.Errorf("%s: process exited (see %s)", label, filepath.Join(nd.Dir, daemon+".log"))
			}
		}
		return false, nil
	})
	if err != nil {
		if errors.Is(err, errTimeout) {
			return fmt.Errorf("%s: not ready %w", label, err)
		}
		return err
	}
	c.logf("%s ready in %.2fs", label, time.Since(t0).Seconds())
	return nil
}
