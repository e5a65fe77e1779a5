package testkit_test

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/testkit"
)

func TestEventually(t *testing.T) {
	n := 0
	testkit.Eventually(t, 5*time.Second, "the third call", func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 {
		t.Errorf("f called %d times, want 3", n)
	}
}

// TestEventuallyFails: past the timeout the test fails, naming what and the last error.
func TestEventuallyFails(t *testing.T) {
	ft := &fakeT{TB: t}
	done := make(chan struct{})
	go func() { // Fatalf ends the goroutine it runs on
		defer close(done)
		testkit.Eventually(ft, 20*time.Millisecond, "never", func() error { return errors.New("still no") })
	}()
	<-done
	if want := "never: not within 20ms: still no"; ft.msg != want {
		t.Errorf("failure %q, want %q", ft.msg, want)
	}
}

type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
