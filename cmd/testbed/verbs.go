package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// Exit codes of the bed's verbs beyond 0, 1 and 2.
const (
	exitDead          = 3 // status: a daemon of a node that is up does not run
	exitOtherSettings = 4 // up: the node is up with other pinned settings
)

// notRunning is pid's exit code 1 with nothing printed.
var notRunning = &cli.ExitError{Code: 1}

// bedVerbs are the bed's verbs, for people, make demo, the bench and CI.
func bedVerbs() []cli.Command {
	daemon := func(op func(testbed.Config, int, string) error) bedRun {
		return func(c testbed.Config, a []string, _ cli.IO) error {
			n, err := nodeArg(a[0])
			if err != nil {
				return err
			}
			return op(c, n, a[1])
		}
	}
	fixed := func(op func(testbed.Config, int, string) error, d string) bedRun {
		return func(c testbed.Config, a []string, s cli.IO) error { return daemon(op)(c, []string{a[0], d}, s) }
	}
	restart := testbed.Config.Restart
	return []cli.Command{
		{Name: "up", Run: bedVerb(1, 1, up)},
		{Name: "down", Run: bedVerb(1, 1, down)},
		{Name: "down-all", Run: bedVerb(0, 0, func(c testbed.Config, _ []string, _ cli.IO) error { return c.DownAll() })},
		{Name: "status", Run: bedVerb(0, 0, status)},
		{Name: "env", Run: bedVerb(1, 1, env)},
		{Name: "logs", Run: bedVerb(1, 2, logs)},
		{Name: "exec", Run: bedVerb(2, -1, execIn)},
		{Name: "stop", Run: bedVerb(2, 2, daemon(testbed.Config.Stop))},
		{Name: "start", Run: bedVerb(2, 2, daemon(testbed.Config.Start))},
		{Name: "restart", Run: bedVerb(2, 2, daemon(restart))},
		{Name: "signal", Run: bedVerb(3, 3, signal)},
		{Name: "pid", Run: bedVerb(2, 2, pid)},
		{Name: "replace-agent", Run: bedVerb(2, 2, replaceAgent)},
		{Name: "restart-plugin", Run: bedVerb(1, 1, fixed(restart, "plugin"))},
		{Name: "restart-agent", Run: bedVerb(1, 1, fixed(restart, "agent"))},
		{Name: "stop-agent", Run: bedVerb(1, 1, fixed(testbed.Config.Stop, "agent"))},
		{Name: "start-agent", Run: bedVerb(1, 1, fixed(testbed.Config.Start, "agent"))},
		{Name: "restart-dockerd", Run: bedVerb(1, 1, fixed(restart, "dockerd"))},
		{Name: "stack", Run: bedVerb(4, -1, stack)},
	}
}

type bedRun func(c testbed.Config, a []string, s cli.IO) error

// bedVerb wraps a verb of minN to maxN arguments (maxN < 0: no limit) with the bed's config; the bed
// needs root.
func bedVerb(minN, maxN int, verb bedRun) func(context.Context, []string, cli.IO) error {
	return func(_ context.Context, a []string, s cli.IO) error {
		if len(a) < minN || (maxN >= 0 && len(a) > maxN) {
			fmt.Fprint(s.Err, usage)
			return cli.Usage(fmt.Errorf("want %d to %d arguments, got %d", minN, maxN, len(a)))
		}
		if os.Geteuid() != 0 {
			return errors.New("the test bed must run as root")
		}
		c, err := bedConfig(s)
		if err != nil {
			return err
		}
		return verb(c, a, s)
	}
}

func nodeArg(arg string) (int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > 9 {
		return 0, cli.Usage(fmt.Errorf("NODE must be 1-9, got %q", arg))
	}
	return n, nil
}

func up(c testbed.Config, a []string, s cli.IO) error {
	n, err := nodeArg(a[0])
	if err != nil {
		return err
	}
	o, err := upOptions(c)
	if err != nil {
		return cli.Usage(err)
	}
	st, err := c.Up(n, o)
	if errors.Is(err, testbed.ErrOtherSettings) {
		fmt.Fprintf(s.Err, "testbed: %v\n", err)
		return &cli.ExitError{Code: exitOtherSettings}
	}
	if err != nil {
		return err
	}
	return printEnv(s, st)
}

func down(c testbed.Config, a []string, _ cli.IO) error {
	n, err := nodeArg(a[0])
	if err != nil {
		return err
	}
	return c.Down(n, os.Getenv("TESTBED_PURGE") == "1")
}

func status(c testbed.Config, _ []string, s cli.IO) error {
	dead, err := c.Status(s.Out)
	if err == nil && dead {
		return &cli.ExitError{Code: exitDead}
	}
	return err
}

// nodeState is the state of the node named by arg, which must be up.
func nodeState(c testbed.Config, arg string) (testbed.State, error) {
	n, err := nodeArg(arg)
	if err != nil {
		return testbed.State{}, err
	}
	nd, err := c.Node(n)
	if err != nil {
		return testbed.State{}, err
	}
	return testbed.LoadState(nd)
}

func env(c testbed.Config, a []string, s cli.IO) error {
	st, err := nodeState(c, a[0])
	if err != nil {
		return err
	}
	return printEnv(s, st)
}

func printEnv(s cli.IO, st testbed.State) error {
	for _, kv := range st.Env() {
		if _, err := fmt.Fprintf(s.Out, "%s=%s\n", kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

func logs(c testbed.Config, a []string, s cli.IO) error {
	n, err := nodeArg(a[0])
	if err != nil {
		return err
	}
	lines := 60
	if len(a) == 2 {
		if lines, err = strconv.Atoi(a[1]); err != nil || lines <= 0 {
			return cli.Usage(fmt.Errorf("LINES %q: want a positive number", a[1]))
		}
	}
	nd, err := c.Node(n)
	if err != nil {
		return err
	}
	return testbed.TailLogs(s.Out, nd, lines)
}

// execIn becomes the command, in the node's namespaces (or the peer's): its exit code is exec's.
func execIn(c testbed.Config, a []string, _ cli.IO) error {
	n := testbed.Peer
	if a[0] != "peer" {
		var err error
		if n, err = nodeArg(a[0]); err != nil {
			return err
		}
	}
	wd, _ := os.Getwd()
	argv, err := c.ExecArgv(n, wd, a[1:])
	if err != nil {
		return err
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return syscall.Exec(path, argv, os.Environ())
}

func signal(c testbed.Config, a []string, _ cli.IO) error {
	n, err := nodeArg(a[0])
	if err != nil {
		return err
	}
	sig, err := testbed.ParseSignal(a[2])
	if err != nil {
		return cli.Usage(err)
	}
	return c.SignalDaemon(n, a[1], sig)
}

func pid(c testbed.Config, a []string, s cli.IO) error {
	n, err := nodeArg(a[0])
	if err != nil {
		return err
	}
	p, ok, err := c.PID(n, a[1])
	if err != nil {
		return cli.Usage(err)
	}
	if !ok {
		return notRunning
	}
	_, err = fmt.Fprintln(s.Out, p)
	return err
}

func replaceAgent(c testbed.Config, a []string, s cli.IO) error {
	n, err := nodeArg(a[0])
	if err != nil {
		return err
	}
	_, err = c.Replace(n, a[1])
	return err
}
