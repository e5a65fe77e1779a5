package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// Bed is the bench's test bed, in-process on internal/testbed: its nodes run the engine and agent of
// the run; everything else (the Docker CLI, the agents' and plugins' APIs, the daemons' PIDs) is reached
// through internal/testbed's names of the node.
type Bed struct {
	Cfg    testbed.Config // Self must be bin/testbed: the bed's steps inside a node's namespaces
	Repo   string
	Docker string // the engine version
	Cilium string // the agent version
	Plugin string // the plugin binary
	Log    io.Writer
	// AgentMetrics: the agents serve their Prometheus metrics on agentMetricsAddr (the bed's serve none).
	AgentMetrics bool
	// Bare runs the plugin with none of the flags the bed adds (metrics, reconciler, policy sync): the
	// upstream plugin has none of them.
	Bare bool
}

// agentMetricsAddr is where the bench asks each node's agent to serve its Prometheus metrics, inside
// the node's netns.
const agentMetricsAddr = "127.0.0.1:9964"

// pluginMetricsAddr is the bed plugin's --metrics-address (testbed.BedPlugin's).
const pluginMetricsAddr = "127.0.0.1:9962"

func (b *Bed) logf(format string, a ...any) { fmt.Fprintf(b.Log, "bench: "+format+"\n", a...) }

// options are the bed's up options for the run: its versions, pinned, and how its agents and plugins run.
func (b *Bed) options() testbed.Options {
	o := testbed.Options{Docker: b.Docker, Cilium: b.Cilium, Pinned: testbed.Pinned{Docker: true, Cilium: true},
		Plugin: testbed.BedPlugin(b.Plugin)}
	if b.Bare {
		o.Plugin = testbed.Plugin{Bin: b.Plugin}
	}
	if b.AgentMetrics {
		o.AgentArgs = []string{"--prometheus-serve-addr=" + agentMetricsAddr}
	}
	return o
}

// Up brings node n up.
func (b *Bed) Up(ctx context.Context, n int) error {
	_, err := b.UpEnv(ctx, n)
	return err
}

// UpEnv brings node n up and returns its env (the node's state as KEY=VALUE).
func (b *Bed) UpEnv(ctx context.Context, n int) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	st, err := b.Cfg.Up(n, b.options())
	if err != nil {
		return nil, fmt.Errorf("%s: up %d: %w", b.Cfg.ID, n, err)
	}
	b.logf("%s: node %d up in %s", b.Cfg.ID, n, time.Since(start).Round(time.Second))
	return st.EnvMap(), nil
}

// DownAll tears the bed down.
func (b *Bed) DownAll(_ context.Context) error { return b.Cfg.DownAll() }

func (b *Bed) node(n int) testbed.Node {
	nd, err := b.Cfg.Node(n)
	if err != nil {
		panic(err) // n comes from the bench's own loop over 1..Nodes, checked at start
	}
	return nd
}

// docker runs the Docker CLI against node n's engine and returns its stdout.
func (b *Bed) docker(ctx context.Context, n int, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, testbed.DockerCLI(), args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+b.node(n).DockerSocket())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("node %d: docker %s: %w: %s", n, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// inNode runs argv in node n's netns (ip netns exec) and returns its stdout.
func (b *Bed) inNode(ctx context.Context, n int, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", b.node(n).NS}, argv...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("node %d: %s: %w: %s", n, strings.Join(argv, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// scrape reads a Prometheus endpoint inside node n.
func (b *Bed) scrape(ctx context.Context, n int, addr string) (string, error) {
	return b.inNode(ctx, n, "curl", "-sf", "--max-time", "5", "http://"+addr+"/metrics")
}

// agentGet is GET path of node n's agent API (its unix socket on the host), asked again on a 429.
func (b *Bed) agentGet(ctx context.Context, n int, path string) ([]byte, error) {
	sock := b.node(n).AgentSocket()
	for {
		body, status, err := agentTry(ctx, sock, path)
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", n, err)
		}
		if status == http.StatusTooManyRequests {
			if err := pause(ctx, 50*time.Millisecond); err != nil {
				return nil, err
			}
			continue
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("node %d: agent %s: %d %s", n, path, status, http.StatusText(status))
		}
		return body, nil
	}
}

// agentTry is one GET of path (below /v1) on the agent API at the unix socket sock: its body and status.
func agentTry(ctx context.Context, sock, path string) ([]byte, int, error) {
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1"+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("agent %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("agent %s: %w", path, err)
	}
	return body, resp.StatusCode, nil
}

// pause waits d or until ctx is done: the poll interval of the bench's deadline loops.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pid is the PID of node n's daemon (etcd, agent, plugin, dockerd) while it runs.
func (b *Bed) pid(n int, daemon string) (int, error) {
	p, ok := testbed.RecordedPID(b.node(n).Dir, daemon)
	if !ok {
		return 0, fmt.Errorf("node %d: %s does not run", n, daemon)
	}
	return p, nil
}
