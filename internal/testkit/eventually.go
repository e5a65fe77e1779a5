package testkit

import (
	"testing"
	"time"
)

// Eventually polls f until it returns nil, and fails the test with what and f's last error once timeout
// has passed. f runs on the test's goroutine, so it may fail the test itself. The poll interval is a
// thousandth of the timeout, between 1 ms and 5 ms: in-process conditions change within microseconds,
// and a short deadline is measured closely.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	interval := min(max(timeout/1000, time.Millisecond), 5*time.Millisecond)
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		<-tick.C
	}
}
