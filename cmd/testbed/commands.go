package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

const usage = `usage: testbed COMMAND [ARGS]

The test matrix (internal/matrix), one value a line:
  legs                 the legs, in the order scripts/e2e.sh runs them
  run-filter LEG       go test's -run pattern for the leg: exactly its tests
  tests LEG            the leg's tests, one a line
  agents [LEG]         the cilium-agents a bed of LEG needs (its own, and the upgrade's); no LEG: every
                       agent of the matrix
  version NAME         docker, docker-debian, cilium, cilium-previous, upgrade-to, etcd or compose
  long-test            the test that runs on a bed of its own, and its leg: NAME LEG

The end-to-end tier (scripts/e2e.sh, make test-e2e; testbed e2e --help):
  e2e [--build] [LEG...]  each leg's e2e tests on a fresh bed, the long test alongside, a summary

Exit codes: 0 ok, 1 refused (a leg not in the matrix) or failed, 2 usage.
`

// commands is the command table.
func commands() cli.Table {
	return cli.Table{
		Commands: append([]cli.Command{
			{Name: "legs", Run: args(0, 0, legs)},
			{Name: "run-filter", Run: args(1, 1, runFilter)},
			{Name: "tests", Run: args(1, 1, tests)},
			{Name: "agents", Run: args(0, 1, agents)},
			{Name: "version", Run: args(1, 1, version)},
			{Name: "long-test", Run: args(0, 0, longTest)},
			{Name: "e2e", Run: e2e},
			{Name: "help", Aliases: []string{"-h", "--help"}, Run: func(_ context.Context, _ []string, s cli.IO) error {
				fmt.Fprint(s.Out, usage)
				return nil
			}},
		}, allPlumbing()...),
		Default: func(_ context.Context, a []string, s cli.IO) error {
			fmt.Fprint(s.Err, usage)
			if len(a) == 0 {
				return cli.Usage(errors.New("no command"))
			}
			return cli.Usage(fmt.Errorf("unknown command %q", a[0]))
		},
	}
}

func run(ctx context.Context, a []string, streams cli.IO) error {
	return commands().Dispatch(ctx, a, streams)
}

// args wraps a verb that takes min to max arguments and no flag (but --help).
func args(minN, maxN int, verb func(a []string, out io.Writer) error) func(context.Context, []string, cli.IO) error {
	return func(_ context.Context, a []string, s cli.IO) error {
		fs := flag.NewFlagSet("testbed", flag.ContinueOnError)
		fs.SetOutput(s.Err)
		fs.Usage = func() { fmt.Fprint(s.Err, usage) }
		if err := fs.Parse(a); err != nil {
			return cli.Usage(err)
		}
		if n := fs.NArg(); n < minN || n > maxN {
			fs.Usage()
			return cli.Usage(fmt.Errorf("want %d to %d arguments, got %d", minN, maxN, n))
		}
		return verb(fs.Args(), s.Out)
	}
}

func lines(out io.Writer, values []string) error {
	_, err := fmt.Fprintln(out, strings.Join(values, "\n"))
	return err
}

func legs(_ []string, out io.Writer) error {
	var names []string
	for _, l := range matrix.Legs() {
		names = append(names, l.Name())
	}
	return lines(out, names)
}

func runFilter(a []string, out io.Writer) error {
	p, err := matrix.RunPattern(a[0])
	if err != nil {
		return err
	}
	return lines(out, []string{p})
}

func tests(a []string, out io.Writer) error {
	names, err := matrix.TestsOn(a[0])
	if err != nil {
		return err
	}
	return lines(out, names)
}

func agents(a []string, out io.Writer) error {
	if len(a) == 0 {
		return lines(out, matrix.Agents())
	}
	v, err := matrix.AgentsOf(a[0])
	if err != nil {
		return err
	}
	return lines(out, v)
}

func version(a []string, out io.Writer) error {
	v, ok := map[string]string{
		"docker":          matrix.DockerCurrent,
		"docker-debian":   matrix.DockerDebian,
		"cilium":          matrix.CiliumCurrent,
		"cilium-previous": matrix.CiliumPrevious,
		"upgrade-to":      matrix.UpgradeTo,
		"etcd":            matrix.Etcd,
		"compose":         matrix.Compose,
	}[a[0]]
	if !ok {
		return cli.Usage(fmt.Errorf("version %q: want docker, docker-debian, cilium, cilium-previous, upgrade-to, etcd or compose", a[0]))
	}
	return lines(out, []string{v})
}

func longTest(_ []string, out io.Writer) error {
	name, leg, err := matrix.LongTest()
	if err != nil {
		return err
	}
	return lines(out, []string{name + " " + leg})
}
