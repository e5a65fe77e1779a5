package procstop

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Stop stops process p: SIGTERM, then SIGKILL when exited has not closed within grace, or at once when
// SIGTERM could not be sent. exited closes once p is gone (its Wait returned, or it is no longer
// listed). It reports whether it sent SIGKILL; a process already gone is no error. The supervisor stops
// its child with it, and the e2e harness the processes it starts in the bed.
func Stop(p *os.Process, grace time.Duration, exited <-chan struct{}) (killed bool, err error) {
	termErr := p.Signal(syscall.SIGTERM)
	if gone(termErr) {
		return false, nil
	}
	if termErr == nil {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-exited:
			return false, nil
		case <-t.C:
		}
	} else {
		termErr = fmt.Errorf("SIGTERM pid %d: %w", p.Pid, termErr)
	}
	if err := p.Kill(); err != nil && !gone(err) {
		return true, errors.Join(termErr, fmt.Errorf("SIGKILL pid %d: %w", p.Pid, err))
	}
	return true, termErr
}

// gone reports whether a signal failed because the process no longer exists.
func gone(err error) bool {
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH)
}
