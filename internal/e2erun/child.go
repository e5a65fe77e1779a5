package e2erun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// The children's deadlines: a build script (cold, an agent takes about 20 minutes of 2 cores), the
// bed's teardown, make build, and the margin a go test child gets beyond its own -timeout.
const (
	buildDeadline    = 90 * time.Minute
	teardownDeadline = 5 * time.Minute
	makeDeadline     = 15 * time.Minute
	childMargin      = 5 * time.Minute
	longDeadline     = 25 * time.Minute // its go test -timeout is 20m
	// stopGrace is how long a child's process group has after SIGTERM before SIGKILL.
	stopGrace = 15 * time.Second
)

// child is one command line the run starts: in dir, with env, in a process group of its own (so that
// a stop reaches what it started: the build script's compiler, go test's test binary), under a
// deadline, stopped with its group when ctx ends.
type child struct {
	argv     []string
	env      []string
	dir      string
	stdout   io.Writer // nil: discarded
	stderr   io.Writer // nil: discarded
	deadline time.Duration
}

// run runs the child to its end and returns its exit code: 0, its own, 128+N when a signal N ended
// it (as a shell says), or an error when it could not start.
func (c child) run(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = c.dir, c.env, c.stdout, c.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return stopGroup(cmd, syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	err := cmd.Run()
	if ctx.Err() != nil && cmd.Process != nil {
		// Stopped: what is left of its group (a test binary that ignored SIGTERM) goes too.
		_ = stopGroup(cmd, syscall.SIGKILL)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	case cmd.ProcessState != nil: // it ran; the wait for its output ended on WaitDelay
		return cmd.ProcessState.ExitCode(), nil
	}
	return 0, fmt.Errorf("start %v: %w", c.argv, err)
}

// stopGroup signals the child's process group (its PID is the group's ID, Setpgid).
func stopGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	err := syscall.Kill(-cmd.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
