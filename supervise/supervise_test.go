package supervise_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/supervise"
)

func quiet() *logrus.Entry {
	l, _ := test.NewNullLogger()
	return logrus.NewEntry(l)
}

func shell(script string) supervise.Spec {
	return func(context.Context) (string, []string, error) { return "/bin/sh", []string{"-c", script}, nil }
}

type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) add(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, string(b))
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

func TestLinesAndStop(t *testing.T) {
	var l lines
	s := supervise.New(quiet(), shell(`echo one; echo two; exec sleep 100`), l.add, supervise.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "both lines", func() error {
		if got := l.all(); len(got) != 2 {
			return fmt.Errorf("lines %q", got)
		}
		return nil
	})
	if got := l.all(); got[0] != "one" || got[1] != "two" {
		t.Fatalf("lines: %q", got)
	}
	pid := s.PID()
	if pid == 0 || !testkit.Running(pid) {
		t.Fatalf("child pid %d not running", pid)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if testkit.Running(pid) {
		t.Fatalf("child %d still runs after Run returned", pid)
	}
	if s.PID() != 0 {
		t.Fatalf("PID after stop: %d", s.PID())
	}
}

func TestRestartsWithBackoff(t *testing.T) {
	var l lines
	var specs atomic.Int32
	spec := func(ctx context.Context) (string, []string, error) {
		if specs.Add(1) == 2 {
			return "", nil, errors.New("agent not answering") // postpones one start
		}
		return shell(`echo started; exit 3`)(ctx)
	}
	s := supervise.New(quiet(), spec, l.add, supervise.Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "three starts", func() error {
		if got := l.all(); len(got) < 3 {
			return fmt.Errorf("lines %q", got)
		}
		return nil
	})
	if specs.Load() < 4 {
		t.Fatalf("spec ran %d times for 3 starts and a refused one", specs.Load())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestKillsAfterGrace(t *testing.T) {
	var l lines
	s := supervise.New(quiet(), shell(`trap '' TERM; echo ready; while :; do sleep 1; done`), l.add,
		supervise.Options{StopGrace: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "the child to start", func() error {
		if got := l.all(); len(got) != 1 {
			return fmt.Errorf("lines %q", got)
		}
		return nil
	})
	pid := s.PID()
	start := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("stopped in %s, before the grace ended: SIGTERM was not ignored?", took)
	}
	if err := syscall.Kill(pid, 0); err == nil && testkit.Running(pid) {
		t.Fatalf("child %d survived the kill", pid)
	}
}
