package testbed

import (
	"fmt"
	"regexp"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

// Plugin modes: how a node runs the plugin under test.
const (
	ModeProcess = "process" // a process of the bed, beside the agent (the default)
	ModeNone    = "none"    // no legacy plugin: a managed plugin the test creates on the node's dockerd
	ModeStack   = "stack"   // only dockerd: etcd, the agent and the plugin are the compose stack's containers
)

// Agent API rate limits: the stack's raised ones, or the agent's own defaults.
const (
	LimitsStack = "stack"
	LimitsAgent = "agent"
)

// Timeouts are the deadlines of a node's daemons to become healthy.
type Timeouts struct {
	Agent, Dockerd, Plugin, Etcd time.Duration
}

// DefaultTimeouts are the bed's deadlines.
var DefaultTimeouts = Timeouts{Agent: 120 * time.Second, Dockerd: 60 * time.Second, Plugin: 60 * time.Second, Etcd: 30 * time.Second}

// Pinned says which of Options' settings a node already up must have: a pinned one that differs makes
// Up fail with ErrOtherSettings (down it first); the others are taken as the node has them.
type Pinned struct {
	Docker, Cilium, IPv6, Limits bool
}

// Options is how Up builds a node.
type Options struct {
	Docker     string // engine version; empty: the matrix's current one
	Cilium     string // agent version; empty: the matrix's current one
	PluginMode string // ModeProcess (empty), ModeNone or ModeStack
	IPv6       bool
	Limits     string // LimitsStack (empty) or LimitsAgent
	Pinned     Pinned

	AgentConfigDir  string // the agent's shared flags; empty: <repo>/compose/agent-config
	AgentArgs       []string
	Plugin          Plugin // Bin required in ModeProcess
	DockerdLogLevel string // empty: debug
	Timeouts        Timeouts
	KeepOnFail      bool // a node whose Up failed is left as it is, for a look
}

var (
	dockerVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`)
	ciliumVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
)

// Normalise fills the defaults (repo: the checkout, for compose/agent-config) and checks the options.
func (o Options) Normalise(repo string) (Options, error) {
	if o.Docker == "" {
		o.Docker = matrix.DockerCurrent
	}
	if o.Cilium == "" {
		o.Cilium = matrix.CiliumCurrent
	}
	if len(o.Docker) > 5 && o.Docker[:6] == "20.10." {
		o.Docker = "20.10" // Debian's one 20.10 engine
	}
	if !dockerVersion.MatchString(o.Docker) {
		return o, fmt.Errorf("docker version %q is not a version", o.Docker)
	}
	if !ciliumVersion.MatchString(o.Cilium) {
		return o, fmt.Errorf("cilium version %q is not a version", o.Cilium)
	}
	if o.PluginMode == "" {
		o.PluginMode = ModeProcess
	}
	switch o.PluginMode {
	case ModeProcess, ModeNone, ModeStack:
	default:
		return o, fmt.Errorf("plugin mode %q: want process, none or stack", o.PluginMode)
	}
	if o.Limits == "" {
		o.Limits = LimitsStack
	}
	if o.Limits != LimitsStack && o.Limits != LimitsAgent {
		return o, fmt.Errorf("agent API limits %q: want stack or agent", o.Limits)
	}
	if o.AgentConfigDir == "" {
		o.AgentConfigDir = repo + "/compose/agent-config"
	}
	if o.DockerdLogLevel == "" {
		o.DockerdLogLevel = "debug"
	}
	if o.Timeouts == (Timeouts{}) {
		o.Timeouts = DefaultTimeouts
	}
	return o, nil
}
