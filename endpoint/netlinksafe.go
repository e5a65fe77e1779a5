package endpoint

import (
	"context"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// maxDumpAttempts bounds how often a dump that the kernel marked interrupted (NLM_F_DUMP_INTR: the
// table changed while it was read) is repeated before giving up.
const maxDumpAttempts = 5

// call runs one netlink request f on behalf of what (an action) and obj (its object, "" for none), and is the only
// way this package talks to the kernel. Each attempt is bounded by the operation's remaining time. A
// dump that returns netlink.ErrDumpInterrupted (whose results may be partial) is repeated up to
// maxDumpAttempts times; single-object requests never return it and run once. A socket timeout comes
// back wrapping context.DeadlineExceeded (or the context's own error).
func (o *op) call(what, obj string, f func() error) error {
	label := what
	if obj != "" {
		label = fmt.Sprintf("%s %q", what, obj)
	}
	var err error
	for range maxDumpAttempts {
		if err = o.arm(); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, netlink.ErrDumpInterrupted):
		return fmt.Errorf("%s: still inconsistent after %d attempts: %w", label, maxDumpAttempts, err)
	case errors.Is(err, unix.EAGAIN): // the socket timeout armed from the deadline expired
		cause := o.ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		return fmt.Errorf("%s: %w: %w", label, cause, err)
	default:
		return fmt.Errorf("%s: %w", label, err)
	}
}
