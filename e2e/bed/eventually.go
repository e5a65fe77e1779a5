package bed

import (
	"fmt"
	"testing"
	"time"
)

// Eventually polls f until it returns nil, and fails the test with what and f's last error once
// timeout has passed. The poll interval is a two-hundredth of the timeout, between 2 ms and 200 ms,
// so that short deadlines measure closely and long ones do not hammer the daemons.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := Poll(timeout, what, f); err != nil {
		t.Fatal(err)
	}
}

// Poll is Eventually without the test, for polls that run side by side in goroutines of their own: it
// returns nil once f does, or what with f's last error once timeout has passed.
func Poll(timeout time.Duration, what string, f func() error) error {
	interval := min(max(timeout/200, 2*time.Millisecond), 200*time.Millisecond)
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s: %w", what, timeout, err)
		}
		time.Sleep(interval) // poll interval inside a deadline loop
	}
}
