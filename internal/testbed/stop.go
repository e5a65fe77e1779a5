package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/cilium-docker/cilium-docker/procstop"
)

// pollEvery is how often the bed looks at a process or a check it waits for.
const pollEvery = 100 * time.Millisecond

// StopRecorded stops the node's daemon name by its recorded PID (thawed first: it may be frozen;
// SIGTERM, then SIGKILL after the grace) and removes its record. A daemon that does not run is no error.
func (c Config) StopRecorded(nd Node, name string) error {
	r, ok := readRecord(nd.Dir, name)
	var err error
	if ok && r.alive() {
		err = c.stopPID(fmt.Sprintf("%s[n%d]", name, nd.N), r)
	}
	if rmErr := os.Remove(recordPath(nd.Dir, name)); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	return err
}

// stopPID stops the process of r, which this bed started. os.FindProcess holds a pidfd: no signal
// reaches a later process with the same PID.
func (c Config) stopPID(label string, r Record) error {
	t0 := time.Now()
	p, err := os.FindProcess(r.PID)
	if err != nil {
		return fmt.Errorf("stop %s pid %d: %w", label, r.PID, err)
	}
	defer func() { _ = p.Release() }()
	_ = p.Signal(syscall.SIGCONT) // a frozen process would hold SIGTERM pending
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killed, err := procstop.Stop(p, c.StopTimeout, gone(ctx, r))
	if killed {
		c.logf("%s (pid %d) ignored SIGTERM for %s: SIGKILL", label, r.PID, c.StopTimeout)
		wait, cancelWait := context.WithTimeout(ctx, 5*time.Second)
		defer cancelWait()
		select {
		case <-gone(wait, r):
		case <-wait.Done():
		}
	}
	if err != nil {
		return fmt.Errorf("stop %s: %w", label, err)
	}
	c.logf("stopped %s (pid %d) in %.2fs", label, r.PID, time.Since(t0).Seconds())
	return nil
}

// gone closes once the process of r no longer runs (or is a zombie waiting for its reaper), or ctx ends.
func gone(ctx context.Context, r Record) <-chan struct{} {
	ch := make(chan struct{})
	go func() { // ends with the process or ctx
		defer close(ch)
		tick := time.NewTicker(pollEvery / 5)
		defer tick.Stop()
		for r.alive() {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return ch
}

// killWait is how long Signal waits for a daemon it sent SIGKILL to be gone.
const killWait = 5 * time.Second

// Signal sends sig to the node's running daemon name by its recorded PID; the record stays. SIGKILL
// returns once the process is gone (kill(2) returns before the target has died): a Start right after a
// kill finds nothing running.
func (c Config) Signal(nd Node, name string, sig syscall.Signal) error {
	r, ok := readRecord(nd.Dir, name)
	if !ok || !r.alive() {
		return fmt.Errorf("%s[n%d] is not running", name, nd.N)
	}
	p, err := os.FindProcess(r.PID)
	if err != nil {
		return err
	}
	defer func() { _ = p.Release() }()
	if err := p.Signal(sig); err != nil {
		return fmt.Errorf("signal %s[n%d] pid %d: %w", name, nd.N, r.PID, err)
	}
	c.logf("sent %s to %s[n%d] (pid %d)", sigName(sig), name, nd.N, r.PID)
	if sig != syscall.SIGKILL {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), killWait)
	defer cancel()
	<-gone(ctx, r)
	if r.alive() {
		return fmt.Errorf("%s[n%d] pid %d still runs %s after SIGKILL", name, nd.N, r.PID, killWait)
	}
	return nil
}

// thaw continues the node's daemon name if it runs (it may be frozen), quietly.
func thaw(nd Node, name string) {
	r, ok := readRecord(nd.Dir, name)
	if !ok || !r.alive() {
		return
	}
	if p, err := os.FindProcess(r.PID); err == nil {
		_ = p.Signal(syscall.SIGCONT)
		_ = p.Release()
	}
}
