package bed

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
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
	pluginArgs []string
}

// Option changes how Up brings a node up.
type Option func(*options)

// WithPluginMode runs the plugin as "process" (the default), as the compose service's "container", or
// not at all ("none": no legacy plugin socket, for a managed plugin the test creates).
func WithPluginMode(mode string) Option { return func(o *options) { o.pluginMode = mode } }

// WithIPv6 runs the node's agent with IPv6 on: its own IPv6 range, IPv6 on the fabric, an IPv6
// nameserver for dockerd. Without it the agent is IPv4-only; a node up with the other setting is brought
// down first, like one with other versions.
func WithIPv6() Option { return func(o *options) { o.ipv6 = true } }

// WithAgentDefaultLimits runs the node's agent with its own default API rate limits, as on an existing
// Cilium host install, not the stack's raised ones; a node up with the other setting is brought down
// first.
func WithAgentDefaultLimits() Option { return func(o *options) { o.limits = testbed.LimitsAgent } }

// WithCilium overrides the leg's agent version for this node (the upgrade test starts on the old one).
func WithCilium(version string) Option { return func(o *options) { o.leg.Cilium = version } }

// WithPluginArgs adds flags to the plugin's command line (a node already up keeps its own).
func WithPluginArgs(args ...string) Option { return func(o *options) { o.pluginArgs = args } }

// Up brings node n up with the versions of the current leg (or reuses it if it is up with them; a node up
// with other versions is brought down first), and registers its log tails for a failure.
func Up(t testing.TB, n int, opts ...Option) *Node {
	t.Helper()
	SkipUnlessBed(t)
	o := options{leg: MustLeg(), pluginMode: testbed.ModeProcess, limits: testbed.LimitsStack}
	for _, f := range opts {
		f(&o)
	}
	plugin := testbed.BedPlugin(PluginBin())
	plugin.Args = o.pluginArgs
	upOpts := testbed.Options{Docker: o.leg.Docker, Cilium: o.leg.Cilium, PluginMode: o.pluginMode, IPv6: o.ipv6, Limits: o.limits,
		Pinned: testbed.Pinned{Docker: true, Cilium: true, IPv6: true, Limits: true}, Plugin: plugin}
	start := time.Now()
	var st testbed.State
	up := func(c testbed.Config) (err error) {
		st, err = c.Up(n, upOpts)
		return err
	}
	err := onBed(up)
	if errors.Is(err, testbed.ErrOtherSettings) {
		t.Logf("leg %s: node %d is up with other versions, IPv6 or API limits: bringing the bed down", o.leg, n)
		DownAll(t)
		err = onBed(up)
	}
	if err != nil {
		t.Fatalf("leg %s: up %d: %v", o.leg, n, err)
	}
	nd := &Node{N: n, Leg: o.leg, env: st.EnvMap()}
	if st.PluginMode != o.pluginMode {
		t.Logf("leg %s: node %d runs the plugin as a %s, asked %s", o.leg, n, st.PluginMode, o.pluginMode)
	}
	t.Logf("leg %s: node %d up (docker %s, API %s; cilium %s; IPv6 %t, API limits %s) in %s", o.leg, n,
		st.EngineVersion, st.APIVersion, st.CiliumVersion, st.IPv6, st.Limits, time.Since(start).Round(10*time.Millisecond))
	c, err := agent.New("unix://"+st.CiliumSock, agent.Timeouts{})
	if err != nil {
		t.Fatal(err)
	}
	nd.Agent = c
	api, err := client.NewClientWithOpts(client.WithHost(st.DockerHost), client.WithAPIVersionNegotiation())
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

// state is node n's state, when it is up.
func state(n int) (testbed.State, error) {
	var st testbed.State
	err := onBed(func(c testbed.Config) error {
		nd, err := c.Node(n)
		if err == nil {
			st, err = testbed.LoadState(nd)
		}
		return err
	})
	return st, err
}

// Exec runs a command in the node's network and mount namespaces (ip, for example) and returns its output.
func (nd *Node) Exec(t testing.TB, args ...string) string {
	t.Helper()
	out, err := execOn(30*time.Minute, nd.N, args...)
	if err != nil {
		t.Fatalf("leg %s: node %d: %v", nd.Leg, nd.N, err)
	}
	return out
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
	var out strings.Builder
	err := onBed(func(c testbed.Config) error {
		n, err := c.Node(nd.N)
		if err == nil {
			err = testbed.TailLogs(&out, n, lines)
		}
		return err
	})
	if err != nil {
		t.Logf("leg %s: node %d logs: %v", nd.Leg, nd.N, err)
	}
	t.Logf("leg %s: node %d logs:\n%s", nd.Leg, nd.N, out.String())
}

func (nd *Node) String() string { return fmt.Sprintf("node %d (%s)", nd.N, nd.Leg) }

// NodeName is the node's name in the cluster (the agent's K8S_NODE_NAME, the stack's NODE_NAME).
func (nd *Node) NodeName() string { return nd.env["NODE_NAME"] }

// PodRange is the node's pod range in the bed (its agent's --ipv4-range in process mode).
func (nd *Node) PodRange() netip.Prefix { return netip.MustParsePrefix(nd.env["POD_RANGE"]) }
