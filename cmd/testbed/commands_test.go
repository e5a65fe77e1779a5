package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

func runArgs(args ...string) (out string, code int) {
	var o, e bytes.Buffer
	err := run(context.Background(), args, cli.IO{In: strings.NewReader(""), Out: &o, Err: &e})
	code, _ = cli.ExitCode(err)
	return o.String(), code
}

func TestVerbs(t *testing.T) {
	pattern, _ := matrix.RunPattern(matrix.LegWalkthrough)
	long, longLeg, _ := matrix.LongTest()
	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"legs"}, strings.Join([]string{matrix.LegCurrent, matrix.LegDebian, matrix.LegUpgrade, matrix.LegWalkthrough}, "\n") + "\n"},
		{[]string{"run-filter", matrix.LegWalkthrough}, pattern + "\n"},
		{[]string{"tests", matrix.LegWalkthrough}, strings.Join(strings.Split(strings.Trim(pattern, "^()$"), "|"), "\n") + "\n"},
		{[]string{"agents"}, matrix.CiliumPrevious + "\n" + matrix.CiliumCurrent + "\n"},
		{[]string{"agents", matrix.LegUpgrade}, matrix.CiliumPrevious + "\n" + matrix.UpgradeTo + "\n"},
		{[]string{"agents", "docker29.8.1-cilium1.19.6"}, "1.19.6\n"},
		{[]string{"version", "docker"}, matrix.DockerCurrent + "\n"},
		{[]string{"version", "cilium"}, matrix.CiliumCurrent + "\n"},
		{[]string{"version", "upgrade-to"}, matrix.UpgradeTo + "\n"},
		{[]string{"version", "etcd"}, matrix.Etcd + "\n"},
		{[]string{"version", "compose"}, matrix.Compose + "\n"},
		{[]string{"long-test"}, long + " " + longLeg + "\n"},
	} {
		if out, code := runArgs(c.args...); code != 0 || out != c.out {
			t.Errorf("testbed %v: exit %d, printed %q; want 0, %q", c.args, code, out, c.out)
		}
	}
}

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"nonsense"}, 2},
		{[]string{"legs", "extra"}, 2},
		{[]string{"run-filter"}, 2},
		{[]string{"version", "kernel"}, 2},
		{[]string{"legs", "--no-such-flag"}, 2},
		{[]string{"run-filter", "docker29.8.1-cilium1.19.6"}, 1}, // well formed, not in the matrix
		{[]string{"tests", "docker29.8.1-cilium1.19.6"}, 1},
		{[]string{"agents", "cilium1.20.2"}, 1},
		{[]string{"help"}, 0},
		{[]string{"legs", "--help"}, 0},
	} {
		if _, code := runArgs(c.args...); code != c.code {
			t.Errorf("testbed %v: exit %d, want %d", c.args, code, c.code)
		}
	}
}
