package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// The sides of `bench upstream`: this plugin, the upstream cilium-docker plugin (on a bed of its own),
// and the default bridge of this plugin's dockerd.
const (
	Ours   = "ours"
	Up     = "up"
	Bridge = "bridge"
	// UpstreamNet is the cilium network of both plugins' beds.
	UpstreamNet = "cilium-net"
)

// upstreamSides are the sides in bench.sh's order.
var upstreamSides = []string{Ours, Up, Bridge}

// The deadlines of the bench's calls.
const (
	dockerTimeout = 3 * time.Minute // one Docker CLI call (a run among 50 concurrent ones included)
	execTimeout   = 30 * time.Second
	upTimeout     = 15 * time.Minute // a node up (builds are done before)
)

// side is one side of the bench: its bed's node 1 (the bridge's is ours), its network and that node's env.
type side struct {
	name   string
	bed    *Bed
	net    string
	env    map[string]string // node 1's state (Bed.NodeEnv)
	plugin string            // the plugin binary (none for the bridge)
}

// rotation is round r's order of the sides (r from 1), rotated by one each round, so that no side always
// runs just after another: a plugin's work left over from its run (upstream relabels and rebuilds its
// endpoint about 0.5 s after the start) slows whichever run comes next on the two beds' shared cores.
func rotation(r int) []string {
	k := (r - 1) % len(upstreamSides)
	out := make([]string, len(upstreamSides))
	for i := range upstreamSides {
		out[i] = upstreamSides[(i+k)%len(upstreamSides)]
	}
	return out
}

// docker runs the node's Docker CLI (the env's DOCKER_CLI, the 20.10 CLI that the bed's exec's
// `docker` is) on the host against the node's engine (its DOCKER_HOST), with a deadline, and returns its
// stdout: the bed's exec wrapper is neither timed nor paid for.
func (s *side) docker(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, dockerTimeout)
	defer cancel()
	cmd := s.dockerCmd(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: docker %s: %w: %s", s.name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// dockerCmd is the node's Docker CLI with args, stopped with ctx.
func (s *side) dockerCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.env["DOCKER_CLI"], args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+s.env["DOCKER_HOST"])
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// exec runs argv in the side's node (Bed.Exec on node 1) with a deadline.
func (s *side) exec(ctx context.Context, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, execTimeout)
	defer cancel()
	return s.bed.Exec(ctx, 1, argv...)
}

// runRm is the seconds of one `docker run --rm … true` on the side's network, from the CLI's start to
// its exit (time.Now around the process). A failed run stops the bench, as it stopped bench.sh (set -e).
func (s *side) runRm(ctx context.Context) (float64, error) {
	t0 := time.Now()
	if _, err := s.docker(ctx, "run", "--rm", "--pull", "never", "--net", s.net, Image, "true"); err != nil {
		return 0, err
	}
	return secs(time.Since(t0)), nil
}

// metrics is the plugin's /metrics, read in the node (this plugin's bed only; upstream serves none).
func (s *side) metrics(ctx context.Context) (string, error) {
	return s.exec(ctx, "curl", "-sf", "--max-time", "5", "http://"+pluginMetricsAddr+"/metrics")
}

// attachSums reads the plugin's attach sums.
func (s *side) attachSums(ctx context.Context) (attachSums, error) {
	text, err := s.metrics(ctx)
	if err != nil {
		return attachSums{}, err
	}
	return readAttachSums(text), nil
}

// pluginPID is the PID of the side's plugin (Bed.DaemonPID).
func (s *side) pluginPID(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, execTimeout)
	defer cancel()
	return s.bed.DaemonPID(ctx, 1, "plugin")
}

// pluginRSS is the plugin's resident MiB.
func (s *side) pluginRSS(ctx context.Context) (float64, error) {
	pid, err := s.pluginPID(ctx)
	if err != nil {
		return 0, err
	}
	return rssMiB(pid)
}

// syncRSS is the resident MiB of this plugin's policy sync child (cilium-docker-policy sync, the child
// of the lowest PID whose command line names it), "none" without one.
func (s *side) syncRSS(ctx context.Context) (string, error) {
	pid, err := s.pluginPID(ctx)
	if err != nil {
		return "", err
	}
	kids := children(pid)
	slices.Sort(kids)
	for _, c := range kids {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c))
		if err != nil || !bytes.Contains(cmdline, []byte("cilium-docker-policy")) {
			continue
		}
		if r, err := rssMiB(c); err == nil {
			return fmt.Sprintf("%.1f", r), nil
		}
	}
	return "none", nil
}

// dockerdLog is the side's dockerd log (debug level in the bed).
func (s *side) dockerdLog() string { return s.env["NODE_DIR"] + "/dockerd.log" }
