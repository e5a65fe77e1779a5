package cli

import (
	"context"
	"io"
	"slices"
)

// IO is a command's standard streams.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// Command is one entry of a binary's command table: the first argument Name (or one of Aliases) runs
// Run with the arguments after it.
type Command struct {
	Name    string
	Aliases []string
	Run     func(ctx context.Context, args []string, streams IO) error
}

// Table is a binary's commands. Default runs when the first argument names no command (or there is
// none), with all the arguments: the daemon's flags, or a usage error.
type Table struct {
	Commands []Command
	Default  func(ctx context.Context, args []string, streams IO) error
}

// Dispatch runs the command args[0] names, else Default.
func (t Table) Dispatch(ctx context.Context, args []string, streams IO) error {
	if len(args) > 0 {
		for _, c := range t.Commands {
			if c.Name == args[0] || slices.Contains(c.Aliases, args[0]) {
				return c.Run(ctx, args[1:], streams)
			}
		}
	}
	return t.Default(ctx, args, streams)
}
