package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// Peer is Exec's name of the "outside" peer netns.
const Peer = 0

// ExecArgv is the command line that runs argv in node n's network and mount namespaces, with
// DOCKER_HOST set and the node's `docker` and `cilium` first on PATH, in directory wd (empty: /); for
// n == Peer, in the peer's netns.
func (c Config) ExecArgv(n int, wd string, argv []string) ([]string, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("exec: no command")
	}
	if n == Peer {
		return append([]string{"ip", "netns", "exec", c.PeerNS()}, argv...), nil
	}
	nd, err := c.upNode(n)
	if err != nil {
		return nil, err
	}
	h, _ := RecordedPID(nd.Dir, "holder")
	if wd == "" {
		wd = "/"
	}
	return append([]string{"nsenter", "--mount=/proc/" + strconv.Itoa(h) + "/ns/mnt", "--net=/run/netns/" + nd.NS,
		"--wd=" + wd, "--", "env", "DOCKER_HOST=unix://" + nd.DockerSocket(),
		"PATH=" + filepath.Join(nd.Dir, "bin") + ":" + os.Getenv("PATH")}, argv...), nil
}

// Command is ExecArgv as a command bound to ctx.
func (c Config) Command(ctx context.Context, n int, argv ...string) (*exec.Cmd, error) {
	wd, _ := os.Getwd()
	a, err := c.ExecArgv(n, wd, argv)
	if err != nil {
		return nil, err
	}
	return exec.CommandContext(ctx, a[0], a[1:]...), nil
}
