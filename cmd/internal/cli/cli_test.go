package cli_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
)

func TestDispatch(t *testing.T) {
	var got string
	entry := func(name string) func(context.Context, []string, cli.IO) error {
		return func(_ context.Context, args []string, _ cli.IO) error { got = fmt.Sprint(name, args); return nil }
	}
	tab := cli.Table{Commands: []cli.Command{{Name: "a", Run: entry("a")}, {Name: "help", Aliases: []string{"-h"}, Run: entry("help")}},
		Default: entry("default")}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"a", "x"}, "a[x]"},
		{[]string{"-h"}, "help[]"},
		{[]string{"--flag", "a"}, "default[--flag a]"},
		{nil, "default[]"},
	} {
		if err := tab.Dispatch(context.Background(), tt.args, cli.IO{}); err != nil || got != tt.want {
			t.Errorf("Dispatch(%q): ran %q (%v), want %q", tt.args, got, err, tt.want)
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, tt := range []struct {
		err    error
		code   int
		report bool
	}{
		{nil, 0, false},
		{fmt.Errorf("parse: %w", flag.ErrHelp), 0, false},
		{cli.Usage(flag.ErrHelp), 0, false},
		{cli.Usage(errors.New("unexpected argument")), 2, true},
		{fmt.Errorf("status: %w", cli.Usage(errors.New("bad flag"))), 2, true},
		{&cli.ExitError{Code: 3}, 3, false},
		{errors.New("3 findings need attention"), 1, true},
	} {
		if code, report := cli.ExitCode(tt.err); code != tt.code || report != tt.report {
			t.Errorf("ExitCode(%v) = %d, %v; want %d, %v", tt.err, code, report, tt.code, tt.report)
		}
	}
	if cli.Usage(nil) != nil {
		t.Error("Usage(nil) is not nil")
	}
}
