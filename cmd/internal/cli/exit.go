package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// UsageError is a command line the command cannot run: an unknown command, flags that do not parse,
// the wrong number of arguments, a missing flag another one needs. Exit code 2. A value that parses
// but is refused (a bad address, a non-positive timeout) is not one: exit code 1.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usage marks err as a usage error (nil stays nil).
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{Err: err}
}

// ExitError is the exit code of a child process that reported its own failure: the binary passes it
// on and adds nothing.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitCode maps a command's error to the process's exit code: 0 for none or --help, a child's own code,
// 2 for a usage error, 1 for any other. report says whether the error is still to be printed (a child
// printed its own).
func ExitCode(err error) (code int, report bool) {
	var ee *ExitError
	var ue *UsageError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0, false
	case errors.As(err, &ee):
		return ee.Code, false
	case errors.As(err, &ue):
		return 2, true
	}
	return 1, true
}

// Main runs run with the process's arguments and streams, under a context that SIGTERM and SIGINT
// end, prints its error as "prog: error" and exits with ExitCode.
func Main(prog string, run func(ctx context.Context, args []string, streams IO) error) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	code, report := ExitCode(err)
	if report {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
	}
	os.Exit(code)
}
