package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// The plumbing verbs: the parts of the bed already in Go (internal/testbed), for scripts/testbed.sh,
// which still holds the rest. Their names start with "_"; they are not for people.
func plumbing() []cli.Command {
	return []cli.Command{
		{Name: "_pid", Run: bedVerb(2, 2, plumbPID)},
		{Name: "_record", Run: bedVerb(3, 3, plumbRecord)},
		{Name: "_stop", Run: bedVerb(2, 2, plumbStop)},
		{Name: "_signal", Run: bedVerb(3, 3, plumbSignal)},
		{Name: "_launch", Run: bedVerb(3, -1, plumbLaunch)},
		{Name: "_holder", Run: bedVerb(1, 1, plumbHolder)},
		{Name: "_sweep", Run: bedVerb(1, 1, plumbSweep)},
		{Name: "_host", Run: bedVerb(1, 1, plumbHost)},
		{Name: "_cgroups-rm", Run: bedVerb(1, 1, plumbCgroupsRm)},
		{Name: "_cgroup2-root", Run: bedVerb(0, 0, plumbCgroup2Root)},
		{Name: "_fabric", Run: bedVerb(1, 1, plumbFabric)},
		{Name: "_node-net", Run: bedVerb(2, 2, plumbNodeNet)},
		{Name: "_nodes-left", Run: bedVerb(0, 1, plumbNodesLeft)},
	}
}

func allPlumbing() []cli.Command {
	return append(append(plumbing(), plumbingEngine()...), plumbingAgent()...)
}

// bedConfig is the bed of the environment: TESTBED_ID, TESTBED_DIR, STOP_TIMEOUT (seconds),
// CILIUM_DOCKER_CACHE (else XDG_CACHE_HOME or ~/.cache, /cilium-docker), as scripts/testbed.sh reads
// them, and TESTBED_REPO (else the directory above this binary's bin/).
func bedConfig(s cli.IO) (testbed.Config, error) {
	c := testbed.Config{ID: os.Getenv("TESTBED_ID"), Dir: os.Getenv("TESTBED_DIR"), StopTimeout: 20 * time.Second, Log: s.Err,
		Repo: os.Getenv("TESTBED_REPO"), Cache: os.Getenv("CILIUM_DOCKER_CACHE")}
	if c.Repo == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, err
		}
		c.Repo = filepath.Dir(filepath.Dir(exe))
	}
	if c.Cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return c, err
			}
			base = filepath.Join(home, ".cache")
		}
		c.Cache = filepath.Join(base, "cilium-docker")
	}
	if c.Dir == "" {
		c.Dir = "/tmp/cdtb"
		if c.ID != "" {
			c.Dir = "/tmp/" + c.ID + "-cdtb"
		}
	}
	if v := os.Getenv("STOP_TIMEOUT"); v != "" {
		sec, err := strconv.Atoi(v)
		if err != nil || sec <= 0 {
			return c, fmt.Errorf("STOP_TIMEOUT %q: want whole seconds", v)
		}
		c.StopTimeout = time.Duration(sec) * time.Second
	}
	return c, c.Check()
}

type bedRun func(c testbed.Config, a []string, s cli.IO) error

// bedVerb wraps a plumbing verb of minN to maxN arguments (maxN < 0: no limit) with the bed's config.
func bedVerb(minN, maxN int, verb bedRun) func(context.Context, []string, cli.IO) error {
	return func(_ context.Context, a []string, s cli.IO) error {
		if len(a) < minN || (maxN >= 0 && len(a) > maxN) {
			return cli.Usage(fmt.Errorf("want %d to %d arguments, got %d", minN, maxN, len(a)))
		}
		c, err := bedConfig(s)
		if err != nil {
			return err
		}
		if err := testbed.CloseOnExecAll(); err != nil {
			return err
		}
		return verb(c, a, s)
	}
}

func node(c testbed.Config, arg string) (testbed.Node, error) {
	n, err := strconv.Atoi(arg)
	if err != nil {
		return testbed.Node{}, cli.Usage(fmt.Errorf("NODE must be 1-9, got %q", arg))
	}
	return c.Node(n)
}

// notRunning is exit code 1 with nothing printed: the script tests it.
var notRunning = &cli.ExitError{Code: 1}

func plumbPID(c testbed.Config, a []string, s cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	pid, ok := testbed.RecordedPID(nd.Dir, a[1])
	if !ok {
		return notRunning
	}
	_, err = fmt.Fprintln(s.Out, pid)
	return err
}

func plumbRecord(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(a[2])
	if err != nil {
		return cli.Usage(fmt.Errorf("PID %q: %w", a[2], err))
	}
	return testbed.RecordPID(nd.Dir, a[1], pid)
}

func plumbStop(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	return c.StopRecorded(nd, a[1])
}

func plumbSignal(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	sig, err := testbed.ParseSignal(a[2])
	if err != nil {
		return cli.Usage(err)
	}
	return c.Signal(nd, a[1], sig)
}

// _launch NODE NAME [--record] -- ARGV...
func plumbLaunch(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	name, rest := a[1], a[2:]
	record := len(rest) > 0 && rest[0] == "--record"
	if record {
		rest = rest[1:]
	}
	if len(rest) < 2 || rest[0] != "--" {
		return cli.Usage(errors.New("want _launch NODE NAME [--record] -- ARGV"))
	}
	_, err = c.Launch(nd, name, rest[1:], record)
	return err
}

func plumbHolder(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	pid, err := c.StartHolder(nd)
	if err == nil {
		fmt.Fprintf(c.Log, "testbed: mount namespace holder pid %d\n", pid)
	}
	return err
}

func plumbSweep(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	c.Sweep(nd)
	return nil
}

func plumbHost(c testbed.Config, a []string, _ cli.IO) error {
	switch a[0] {
	case "save":
		return c.SaveHost()
	case "restore":
		return c.RestoreHost()
	}
	return cli.Usage(fmt.Errorf("_host %q: want save or restore", a[0]))
}

func plumbCgroupsRm(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	c.RemoveNodeCgroups(nd)
	return nil
}

func plumbCgroup2Root(_ testbed.Config, _ []string, s cli.IO) error {
	if r := testbed.Cgroup2Root(); r != "" {
		_, err := fmt.Fprintln(s.Out, r)
		return err
	}
	return nil
}

func plumbFabric(c testbed.Config, a []string, _ cli.IO) error {
	switch a[0] {
	case "up":
		return c.EnsureFabric()
	case "down":
		return c.TeardownFabric()
	}
	return cli.Usage(fmt.Errorf("_fabric %q: want up or down", a[0]))
}

// _node-net NODE 0|1: the node's netns and eth0; 1 with IPv6.
func plumbNodeNet(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	if a[1] != "0" && a[1] != "1" {
		return cli.Usage(fmt.Errorf("IPv6 %q: want 0 or 1", a[1]))
	}
	return c.NodeNetwork(nd, a[1] == "1")
}

// _nodes-left [--desc]: the nodes with a netns or a holder, one a line.
func plumbNodesLeft(c testbed.Config, a []string, s cli.IO) error {
	ns := c.NodesLeft()
	if len(a) == 1 {
		if a[0] != "--desc" {
			return cli.Usage(fmt.Errorf("_nodes-left %q: want --desc", a[0]))
		}
		slices.Reverse(ns)
	}
	for _, n := range ns {
		if _, err := fmt.Fprintln(s.Out, n); err != nil {
			return err
		}
	}
	return nil
}
