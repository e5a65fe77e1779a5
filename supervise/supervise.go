package supervise

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/backoff"
	"github.com/cilium-docker/cilium-docker/procstop"
)

// Spec says what to start; it runs before every start, so the arguments may follow the daemon's state
// (an error postpones the start, with backoff).
type Spec func(ctx context.Context) (path string, args []string, err error)

// Options tune a Supervisor; zero values take the defaults.
type Options struct {
	MinBackoff time.Duration // first wait before a restart (default 250 ms)
	MaxBackoff time.Duration // longest wait (default 30 s)
	Healthy    time.Duration // a child that ran this long restarts after MinBackoff again (default 1 min)
	StopGrace  time.Duration // SIGTERM to SIGKILL at stop (default 5 s)
	Stderr     io.Writer     // the child's standard error (default os.Stderr)
	OnStart    func()        // called before each child's first line, once it started
}

// Supervisor owns one child process at a time.
type Supervisor struct {
	log    *logrus.Entry
	spec   Spec
	onLine func([]byte)
	opt    Options

	mu  sync.Mutex
	pid int // guarded by mu: the running child's, 0 when none
}

// New returns a supervisor of the child spec describes; onLine gets each line the child writes to its
// standard output (nil: discarded).
func New(log *logrus.Entry, spec Spec, onLine func([]byte), opt Options) *Supervisor {
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 250 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	if opt.Healthy <= 0 {
		opt.Healthy = time.Minute
	}
	if opt.StopGrace <= 0 {
		opt.StopGrace = 5 * time.Second
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	if onLine == nil {
		onLine = func([]byte) {}
	}
	return &Supervisor{log: log, spec: spec, onLine: onLine, opt: opt}
}

// PID is the running child's process ID, 0 when none runs.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid
}

// Run keeps the child running until ctx is done, then stops it and returns once it is gone.
func (s *Supervisor) Run(ctx context.Context) error {
	wait := backoff.New(s.opt.MinBackoff, s.opt.MaxBackoff)
	for {
		started := time.Now()
		err := s.once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) >= s.opt.Healthy {
			wait.Reset()
		}
		s.log.WithError(err).WithField("restart-in", wait.Next().Round(time.Millisecond)).Warn("child process ended; restarting it")
		if !wait.Wait(ctx) {
			return nil
		}
	}
}

// once starts the child and waits until it ends, or stops it when ctx is done.
func (s *Supervisor) once(ctx context.Context) error {
	path, args, err := s.spec(ctx)
	if err != nil {
		return fmt.Errorf("prepare child: %w", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stderr = s.opt.Stderr
	// The child gets SIGTERM when its parent thread ends; that thread is the one running this function,
	// locked until the child is gone (an OS thread Go retires would otherwise kill it early).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("child %s: %w", path, err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start child %s: %w", path, err)
	}
	s.setPID(cmd.Process.Pid)
	defer s.setPID(0)
	if s.opt.OnStart != nil {
		s.opt.OnStart()
	}
	s.log.WithFields(logrus.Fields{"path": path, "pid": cmd.Process.Pid}).Info("child process started")

	lines := make(chan struct{})
	go func() { // owned by once: it ends at the pipe's EOF, which Wait below waits for
		defer close(lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 0, 4096), 1<<20)
		for sc.Scan() {
			s.onLine(sc.Bytes())
		}
	}()
	exited := make(chan struct{})
	var waitErr error                                            // written before exited closes
	go func() { <-lines; waitErr = cmd.Wait(); close(exited) }() // owned by once: ends with the child
	select {
	case <-exited:
		return fmt.Errorf("child %s: %w", path, errOrExit(waitErr))
	case <-ctx.Done():
	}
	killed, err := procstop.Stop(cmd.Process, s.opt.StopGrace, exited)
	if err != nil {
		s.log.WithError(err).WithField("pid", cmd.Process.Pid).Warn("stop child process")
	} else if killed {
		s.log.WithField("pid", cmd.Process.Pid).Warn("child process did not stop on SIGTERM; killed it")
	}
	<-exited
	s.log.WithError(waitErr).WithField("pid", cmd.Process.Pid).Debug("child process stopped")
	return nil
}

func (s *Supervisor) setPID(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pid = pid
}

// errOrExit names a clean exit too: the child is meant to run until it is stopped.
func errOrExit(err error) error {
	if err == nil {
		return errors.New("exited with status 0")
	}
	return err
}
