package bed

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/cilium-docker/cilium-docker/agent"
)

// Daemon names one of a node's processes.
type Daemon string

// The node daemons: etcd runs on node 1 only.
const (
	Etcd    Daemon = "etcd"
	Agent   Daemon = "agent"
	Plugin  Daemon = "plugin"
	Dockerd Daemon = "dockerd"
)

// Node is one test-bed node: a network namespace with etcd (node 1), cilium-agent, dockerd and the plugin.
type Node struct {
	N   int
	Leg Leg
	// API is the Docker Engine API client of the node's dockerd (version negotiated).
	API *client.Client
	// Agent is the cilium-agent client of the node's agent.
	Agent *agent.Client

	env map[string]string
}

type options struct {
	leg        Leg
	pluginMode string
	ipv6       bool
	limits     string // the agent's API rate limits: "stack" or "agent"
}

// Option changes how Up brings a node up.
type Option func(*options)

// WithPluginMode runs the plugin as "process" (the default), as the compose service's "container", or
// not at all ("none": no legacy plugin socket, for a managed plugin the test creates).
func WithPluginMode(mode string) Option { return func(o *options) { o.pluginMode = mode } }

// WithIPv6 runs the node's agent with IPv6 on (testbed AGENT_IPV6=1): its own IPv6 range, IPv6 on the
// fabric, an IPv6 nameserver for dockerd. Without it the agent is IPv4-only; a node up with the other
// setting is brought down first, like one with other versions.
func WithIPv6() Option { return func(o *options) { o.ipv6 = true } }

// WithAgentDefaultLimits runs the node's agent with its own default API rate limits (testbed
// AGENT_API_LIMITS=agent), as on an existing Cilium host install, not the stack's raised ones; a node up
// with the other setting is brought down first.
func WithAgentDefaultLimits() Option { return func(o *options) { o.limits = "agent" } }

// WithCilium overrides the leg's agent version for this node (the upgrade test starts on the old one).
func WithCilium(version string) Option { return func(o *options) { o.leg.Cilium = version } }

// Up brings node n up with the versions of the current leg (or reuses it if it is up with them; a node up
// with other versions is brought down first), and registers its log tails for a failure.
func Up(t testing.TB, n int, opts ...Option) *Node {
	t.Helper()
	SkipUnlessBed(t)
	o := options{leg: MustLeg(), pluginMode: "process", limits: "stack"}
	for _, f := range opts {
		f(&o)
	}
	ipv6 := "0"
	if o.ipv6 {
		ipv6 = "1"
	}
	env := []string{"DOCKER_VERSION=" + o.leg.Docker, "CILIUM_VERSION=" + o.leg.Cilium, "PLUGIN_MODE=" + o.pluginMode, "AGENT_IPV6=" + ipv6,
		"AGENT_API_LIMITS=" + o.limits}
	start := time.Now()
	_, err := script(30*time.Minute, env, "up", strconv.Itoa(n))
	if exitCode(err) == exitVersionMismatch {
		t.Logf("leg %s: node %d is up with other versions, IPv6 or API limits: bringing the bed down", o.leg, n)
		DownAll(t)
		_, err = script(30*time.Minute, env, "up", strconv.Itoa(n))
	}
	if err != nil {
		t.Fatalf("leg %s: %v", o.leg, err)
	}
	nd := &Node{N: n, Leg: o.leg}
	nd.loadEnv(t)
	if nd.env["PLUGIN_MODE"] != o.pluginMode {
		t.Logf("leg %s: node %d runs the plugin as a %s, asked %s", o.leg, n, nd.env["PLUGIN_MODE"], o.pluginMode)
	}
	t.Logf("leg %s: node %d up (docker %s, API %s; cilium %s; AGENT_IPV6=%s, AGENT_API_LIMITS=%s) in %s", o.leg, n,
		nd.env["DOCKER_ENGINE_VERSION"], nd.env["DOCKER_API_VERSION"], nd.env["CILIUM_VERSION"], nd.env["AGENT_IPV6"],
		nd.env["AGENT_API_LIMITS"], time.Since(start).Round(10*time.Millisecond))
	c, err := agent.New("unix://"+nd.env["CILIUM_SOCK"], agent.Timeouts{})
	if err != nil {
		t.Fatal(err)
	}
	nd.Agent = c
	api, err := client.NewClientWithOpts(client.WithHost(nd.env["DOCKER_HOST"]), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	nd.API = api
	t.Cleanup(func() {
		api.Close()
		if t.Failed() {
			nd.TailLogsT(t, 60)
			t.Logf("FAILED on leg %s", nd.Leg)
		}
	})
	return nd
}

func (nd *Node) loadEnv(t testing.TB) {
	t.Helper()
	out, err := script(time.Minute, nil, "env", strconv.Itoa(nd.N))
	if err != nil {
		t.Fatalf("leg %s: %v", nd.Leg, err)
	}
	nd.env = parseEnv(out)
}

// Down tears the node down.
func (nd *Node) Down(t testing.TB) {
	t.Helper()
	nd.bed(t, "down", strconv.Itoa(nd.N))
}

// bed runs a testbed.sh command, failing the test on error.
func (nd *Node) bed(t testing.TB, args ...string) string {
	t.Helper()
	out, err := script(30*time.Minute, nil, args...)
	if err != nil {
		t.Fatalf("leg %s: node %d: %v", nd.Leg, nd.N, err)
	}
	return out
}

// Stop stops daemon d by PID (SIGTERM, then SIGKILL after a grace period).
func (nd *Node) Stop(t testing.TB, d Daemon) {
	t.Helper()
	nd.bed(t, "stop", strconv.Itoa(nd.N), string(d))
}

// Start starts a stopped daemon d again with the same arguments and waits until it is healthy.
func (nd *Node) Start(t testing.TB, d Daemon) {
	t.Helper()
	nd.bed(t, "start", strconv.Itoa(nd.N), string(d))
}

// Restart stops daemon d and starts it again (the agent: health Ok; dockerd: its API answers).
func (nd *Node) Restart(t testing.TB, d Daemon) {
	t.Helper()
	nd.bed(t, "restart", strconv.Itoa(nd.N), string(d))
}

// Freeze stops daemon d with SIGSTOP; Thaw continues it. A frozen daemon is thawed when the node goes down.
func (nd *Node) Freeze(t testing.TB, d Daemon) { t.Helper(); nd.signal(t, d, "STOP") }

// Thaw continues a frozen daemon d (SIGCONT).
func (nd *Node) Thaw(t testing.TB, d Daemon) { t.Helper(); nd.signal(t, d, "CONT") }

// Kill kills daemon d with SIGKILL; Start brings it back.
func (nd *Node) Kill(t testing.TB, d Daemon) { t.Helper(); nd.signal(t, d, "KILL") }

func (nd *Node) signal(t testing.TB, d Daemon, sig string) {
	t.Helper()
	nd.bed(t, "signal", strconv.Itoa(nd.N), string(d), sig)
}

// ReplaceAgent replaces the node's cilium-agent in place by version's (same state dir and flags) and
// waits until it is healthy; the plugin keeps running.
func (nd *Node) ReplaceAgent(t testing.TB, version string) {
	t.Helper()
	nd.bed(t, "replace-agent", strconv.Itoa(nd.N), version)
	nd.loadEnv(t)
	if got := nd.env["CILIUM_VERSION"]; got != version {
		t.Fatalf("leg %s: node %d runs cilium %s after replace-agent %s", nd.Leg, nd.N, got, version)
	}
}

// PID is the PID of the running daemon d.
func (nd *Node) PID(t testing.TB, d Daemon) int {
	t.Helper()
	out := strings.TrimSpace(nd.bed(t, "pid", strconv.Itoa(nd.N), string(d)))
	pid, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("leg %s: node %d %s pid %q: %v", nd.Leg, nd.N, d, out, err)
	}
	return pid
}

// Exec runs a command in the node's network and mount namespaces (ip, for example) and returns its output.
func (nd *Node) Exec(t testing.TB, args ...string) string {
	t.Helper()
	return nd.bed(t, append([]string{"exec", strconv.Itoa(nd.N)}, args...)...)
}

// Versions as the node reports them.

// CiliumVersion is the version of the node's running agent.
func (nd *Node) CiliumVersion() string { return nd.env["CILIUM_VERSION"] }

// IPv6 reports whether the node's agent runs with IPv6 on.
func (nd *Node) IPv6() bool { return nd.env["AGENT_IPV6"] == "1" }

// EngineAPI is the API version of the node's dockerd (1.41 for Docker 20.10).
func (nd *Node) EngineAPI() string { return nd.env["DOCKER_API_VERSION"] }

// PolicyDir is the agent's --static-cnp-path.
func (nd *Node) PolicyDir() string { return nd.env["POLICY_DIR"] }

// NodeDir is the node's state directory on the host (sockets, logs, the plugins directory).
func (nd *Node) NodeDir() string { return nd.env["NODE_DIR"] }

// PluginMode is how the node runs the plugin: process, container or none.
func (nd *Node) PluginMode() string { return nd.env["PLUGIN_MODE"] }

// PluginSocket is the path of the plugin's socket, where dockerd posts the protocol calls.
func (nd *Node) PluginSocket() string { return nd.env["PLUGIN_SOCK"] }

// DockerSocket is the path of the node's Docker socket.
func (nd *Node) DockerSocket() string { return strings.TrimPrefix(nd.env["DOCKER_HOST"], "unix://") }

func (nd *Node) logPath(d Daemon) string { return filepath.Join(nd.env["NODE_DIR"], string(d)+".log") }

// LogSize is the current size of daemon d's log: pass it to LogSince.
func (nd *Node) LogSize(t testing.TB, d Daemon) int64 {
	t.Helper()
	fi, err := os.Stat(nd.logPath(d))
	if err != nil {
		t.Fatalf("%s log: %v", d, err)
	}
	return fi.Size()
}

// LogSince returns what daemon d logged after its log had size off.
func (nd *Node) LogSince(t testing.TB, d Daemon, off int64) string {
	t.Helper()
	b, err := os.ReadFile(nd.logPath(d))
	if err != nil {
		t.Fatalf("%s log: %v", d, err)
	}
	if off > int64(len(b)) {
		return string(b)
	}
	return string(b[off:])
}

// TailLogsT logs the last lines of each of the node's daemon logs.
func (nd *Node) TailLogsT(t testing.TB, lines int) {
	t.Helper()
	out, err := script(time.Minute, nil, "logs", strconv.Itoa(nd.N), strconv.Itoa(lines))
	if err != nil {
		t.Logf("leg %s: node %d logs: %v", nd.Leg, nd.N, err)
	}
	t.Logf("leg %s: node %d logs:\n%s", nd.Leg, nd.N, out)
}

func (nd *Node) String() string { return fmt.Sprintf("node %d (%s)", nd.N, nd.Leg) }

// NodeName is the node's name in the cluster (the agent's K8S_NODE_NAME, the stack's NODE_NAME).
func (nd *Node) NodeName() string { return nd.env["NODE_NAME"] }

// PodRange is the node's pod range in the bed (its agent's --ipv4-range in process mode).
func (nd *Node) PodRange() netip.Prefix { return netip.MustParsePrefix(nd.env["POD_RANGE"]) }
