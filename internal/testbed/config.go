package testbed

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// The bed's fabric: 192.168.77.0/24 on br0 in the fabric netns, the peer at .1 (every node's gateway),
// node N at .(1+N); with IPv6 also fd00:77::/64.
const (
	netPrefix  = "192.168.77."
	peerIP     = netPrefix + "1"
	net6Prefix = "fd00:77::"
	peerIP6    = net6Prefix + "1"
	etcdIP     = netPrefix + "2"
	bridge     = "br0"
)

// Config is one bed on the host: its ID (a prefix of its netns and cgroup names), its state root, and
// where it logs.
type Config struct {
	ID          string        // [a-z0-9]{0,8}; empty for the default bed
	Dir         string        // state root, e.g. /tmp/cdtb
	StopTimeout time.Duration // SIGTERM's grace before SIGKILL
	Log         io.Writer     // progress lines, "testbed: ..."
	Repo        string        // the repository: its scripts/build-*.sh build the engines and agents
	Cache       string        // the cache root (scripts/build-*.sh's), e.g. ~/.cache/cilium-docker
	// Self is the testbed binary (cmd/testbed): the steps that must run inside a node's namespaces (its
	// mounts, the agent's cgroup wrapper) are its hidden verbs _mounts and _agent.
	Self string
}

var idPattern = regexp.MustCompile(`^[a-z0-9]{0,8}$`)

// Check validates the configuration.
func (c Config) Check() error {
	if !idPattern.MatchString(c.ID) {
		return fmt.Errorf("TESTBED_ID must match [a-z0-9]{1,8}, got %q", c.ID)
	}
	if !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("TESTBED_DIR must be an absolute path, got %q", c.Dir)
	}
	return nil
}

func (c Config) prefix() string {
	if c.ID == "" {
		return ""
	}
	return c.ID + "-"
}

// FabricNS is the netns of the bridge every node and the peer plug into.
func (c Config) FabricNS() string { return c.prefix() + "cdfab" }

// PeerNS is the netns of the "outside" peer, every node's default gateway.
func (c Config) PeerNS() string { return c.prefix() + "cdpeer" }

func (c Config) logf(format string, a ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "testbed: "+format+"\n", a...)
	}
}

// Node is one node's names, paths and addresses.
type Node struct {
	N        int
	NS       string // its netns
	Dir      string // its state directory
	IP       string
	IP6      string
	PodRange string
	Range6   string
	Port     string // its veth's end on the bridge
	CGDocker string // dockerd's --cgroup-parent
	CGAgent  string // the cgroup2 subtree the agent sees as its root
	EtcdURL  string
}

// Node returns node n (1-9).
func (c Config) Node(n int) (Node, error) {
	if n < 1 || n > 9 {
		return Node{}, fmt.Errorf("NODE must be 1-9, got %d", n)
	}
	p := c.prefix()
	nd := Node{
		N: n, NS: fmt.Sprintf("%scdnode%d", p, n), Dir: filepath.Join(c.Dir, fmt.Sprintf("n%d", n)),
		IP: fmt.Sprintf("%s%d", netPrefix, 1+n), IP6: fmt.Sprintf("%s%d", net6Prefix, 1+n),
		PodRange: fmt.Sprintf("10.7%d.0.0/16", n), Range6: fmt.Sprintf("fd00:7%d::/96", n),
		Port: fmt.Sprintf("node%d", n), CGDocker: fmt.Sprintf("%scdtb-n%d", p, n),
		CGAgent: fmt.Sprintf("%scdtb-agent-n%d", p, n), EtcdURL: "http://" + etcdIP + ":2379",
	}
	if n == 1 {
		nd.EtcdURL = "http://127.0.0.1:2379"
	}
	return nd, nil
}

// WithDefaults fills what is not set: the state root /tmp/[ID-]cdtb, the cache root as the build scripts
// find it (CILIUM_DOCKER_CACHE, else XDG_CACHE_HOME or ~/.cache, /cilium-docker), a 20 s stop grace; and
// checks the result.
func (c Config) WithDefaults() (Config, error) {
	if c.Dir == "" {
		c.Dir = "/tmp/" + c.prefix() + "cdtb"
	}
	if c.Cache == "" {
		c.Cache = os.Getenv("CILIUM_DOCKER_CACHE")
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
	if c.StopTimeout == 0 {
		c.StopTimeout = 20 * time.Second
	}
	return c, c.Check()
}
