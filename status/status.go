package status

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/hubble"
	"github.com/cilium-docker/cilium-docker/metrics"
)

// Agent is what status reads from cilium-agent.
type Agent interface {
	Health(ctx context.Context) (agent.Health, error)
	Version(ctx context.Context) (string, error)
	Config(ctx context.Context) (*agent.Config, error)
	Endpoints(ctx context.Context) ([]*models.Endpoint, error)
}

// Docker is what status reads from the Docker engine.
type Docker interface {
	Engine(ctx context.Context) (dockerapi.Engine, error)
	NetworksOf(ctx context.Context, driver string) ([]dockerapi.NetworkSummary, error)
}

// Hubble is what status reads from the Hubble server.
type Hubble interface {
	ServerStatus(ctx context.Context) (hubble.Status, error)
}

// Config says where the node's parts are.
type Config struct {
	Socket string // the plugin socket
	Driver string // the plugin's driver name: the legacy socket's file name without .sock, or the managed plugin's name
	// MetricsAddress is the plugin's --metrics-address (host:port or unix:///path); empty: the plugin's
	// own state is not read.
	MetricsAddress string
	// StaleAfter is how old the reconciler's last pass may be before it needs attention.
	StaleAfter time.Duration
	// AgentSocket is the agent's API socket, whose listening process's API rate limits are read;
	// empty: not read. Proc is where /proc is ("" for /proc).
	AgentSocket, Proc string
}

// Checker gathers a node's status.
type Checker struct {
	cfg    Config
	agent  Agent
	docker Docker
	hubble Hubble // nil: not checked
	now    func() time.Time
}

// New returns a checker.
func New(cfg Config, a Agent, d Docker, h Hubble) *Checker {
	return &Checker{cfg: cfg, agent: a, docker: d, hubble: h, now: time.Now}
}

// agentView is everything read from the agent; err is the first failure, after which nothing more is read.
type agentView struct {
	health  agent.Health
	version string
	config  *agent.Config
	eps     []*models.Endpoint
	err     error
}

type dockerView struct {
	engine dockerapi.Engine
	nets   []dockerapi.NetworkSummary
	err    error
}

// Check reads every part at once, each under ctx (give it a deadline), and reports. Nothing it reads
// can make it wait past ctx's deadline.
func (c *Checker) Check(ctx context.Context) *Report {
	var (
		wg     sync.WaitGroup
		sock   socketInfo
		sErr   error
		av     agentView
		dv     dockerView
		hs     hubble.Status
		hErr   error
		plugin samples
		mErr   error
		lim    agentLimits
		lErr   error
	)
	wg.Add(4)
	go func() { defer wg.Done(); sock, sErr = probeSocket(ctx, c.cfg.Socket) }()
	go func() {
		defer wg.Done()
		av = c.readAgent(ctx)
		if c.cfg.AgentSocket != "" {
			lim, lErr = readAgentLimits(ctx, cmp.Or(c.cfg.Proc, "/proc"), c.cfg.AgentSocket)
		}
	}()
	go func() { defer wg.Done(); dv = c.readDocker(ctx) }()
	go func() {
		defer wg.Done()
		if c.hubble != nil {
			hs, hErr = c.hubble.ServerStatus(ctx)
		}
		if c.cfg.MetricsAddress != "" {
			network, address, err := metrics.ParseAddress(c.cfg.MetricsAddress)
			if err == nil {
				plugin, err = scrape(ctx, network, address)
			}
			mErr = err
		}
	}()
	wg.Wait()

	r := &Report{}
	c.socketCheck(r, sock, sErr)
	c.agentChecks(r, av)
	if c.cfg.AgentSocket != "" {
		c.limitsCheck(r, lim, lErr, plugin)
	}
	c.hubbleCheck(r, av, hs, hErr)
	c.dockerChecks(r, dv)
	c.pluginChecks(r, plugin, mErr)
	c.compare(r, av, dv)
	return r
}

func (c *Checker) readAgent(ctx context.Context) (v agentView) {
	if v.health, v.err = c.agent.Health(ctx); v.err != nil {
		return v
	}
	if v.config, v.err = c.agent.Config(ctx); v.err != nil {
		return v
	}
	if v.eps, v.err = c.agent.Endpoints(ctx); v.err != nil {
		return v
	}
	v.version, _ = c.agent.Version(ctx) // the version is a nicety: its failure fails nothing
	return v
}

func (c *Checker) readDocker(ctx context.Context) (v dockerView) {
	if v.engine, v.err = c.docker.Engine(ctx); v.err != nil {
		return v
	}
	v.nets, v.err = c.docker.NetworksOf(ctx, c.cfg.Driver)
	return v
}

func (c *Checker) socketCheck(r *Report, s socketInfo, err error) {
	const name = "Plugin socket"
	switch {
	case err != nil:
		r.add(name, Failure, "start cilium-docker (it must run before dockerd; systemctl start cilium-docker, or the compose service)",
			"%v", err)
	case s.Mode.Perm()&0o002 != 0:
		r.add(name, Warning, "chmod o-w "+c.cfg.Socket+" (anyone who can write it can attach containers)",
			"%s %s: writable by everyone", c.cfg.Socket, s.Mode)
	case !slices.Contains(s.Implements, "NetworkDriver") || !slices.Contains(s.Implements, "IpamDriver"):
		r.add(name, Failure, "another program serves "+c.cfg.Socket+": stop it and start cilium-docker",
			"%s implements %v, want NetworkDriver and IpamDriver", c.cfg.Socket, s.Implements)
	default:
		r.add(name, OK, "", "%s %s, %s", c.cfg.Socket, s.Mode, strings.Join(s.Implements, ", "))
	}
}

func (c *Checker) agentChecks(r *Report, v agentView) {
	const name = "Cilium agent"
	if v.err != nil {
		hint := "start cilium-agent, or point --cilium-api at its socket"
		if !errors.Is(v.err, agent.ErrUnreachable) {
			hint = "the agent is up but does not answer in time: check its log (it may be starting or stuck)"
		}
		r.add(name, Failure, hint, "%v", v.err)
		r.add("Kvstore", Unknown, "", "agent not read")
		return
	}
	h := v.health
	version := v.version
	if version == "" {
		version = "version unknown"
	} else {
		version, _, _ = strings.Cut(version, " ")
	}
	detail := fmt.Sprintf("%s, range %s, router %s", version, v.config.IPv4.Range, v.config.IPv4.Router)
	switch {
	case h.State != models.StatusStateOk:
		r.add(name, Failure, "see the agent's log; cilium-dbg status --verbose shows which part fails",
			"%s: state %s %s", detail, h.State, h.Msg)
	case h.FailingCtrl > 0:
		r.add(name, Warning, "cilium-dbg status --all-controllers shows which ones fail",
			"%s: %d of %d controllers failing", detail, h.FailingCtrl, h.Controllers)
	default:
		r.add(name, OK, "", "%s", detail)
	}
	switch h.Kvstore {
	case models.StatusStateOk:
		r.add("Kvstore", OK, "", "%s", h.KvstoreMsg)
	case models.StatusStateDisabled, "":
		r.add("Kvstore", Disabled, "", "none: identities and addresses stay on this node")
	default:
		r.add("Kvstore", Failure, "check that etcd is up and reachable from the agent (--kvstore-opt etcd.address)",
			"%s %s", h.Kvstore, h.KvstoreMsg)
	}
}

func (c *Checker) hubbleCheck(r *Report, v agentView, s hubble.Status, err error) {
	const name = "Hubble"
	switch {
	case v.err == nil && (v.health.Hubble == models.StatusStateDisabled || v.health.Hubble == ""):
		r.add(name, Disabled, "", "off in the agent (--enable-hubble): `cilium-docker flows` needs it")
	case c.hubble == nil:
		r.add(name, Unknown, "", "not checked")
	case err != nil:
		r.add(name, Warning, "check the agent's --hubble-socket-path against --hubble-socket", "%v", err)
	default:
		r.add(name, OK, "", "%d/%d flows buffered, %d seen", s.Flows, s.MaxFlows, s.Seen)
	}
}

func (c *Checker) dockerChecks(r *Report, v dockerView) {
	if v.err != nil {
		r.add("Docker", Failure, "start dockerd, or point --docker-host-path at its socket", "%v", v.err)
		r.add("Networks", Unknown, "", "Docker not read")
		return
	}
	registered := slices.Contains(v.engine.NetworkPlugins, c.cfg.Driver)
	detail := fmt.Sprintf("engine %s (API %s)", v.engine.Version, v.engine.APIVersion)
	switch {
	case registered:
		r.add("Docker", OK, "", "%s, driver %s registered", detail, c.cfg.Driver)
	case len(v.nets) > 0:
		r.add("Docker", Warning, "dockerd has not loaded the plugin: start cilium-docker before dockerd, then restart dockerd",
			"%s, driver %s not registered although %d networks use it", detail, c.cfg.Driver, len(v.nets))
	default:
		r.add("Docker", OK, "", "%s, driver %s not loaded yet (no network uses it)", detail, c.cfg.Driver)
	}
	if len(v.nets) == 0 {
		r.add("Networks", OK, "", "none with driver %s (docker network create --driver %[1]s --ipam-driver %[1]s NAME)", c.cfg.Driver)
	}
	for _, n := range v.nets {
		name := "Network " + n.Name
		switch {
		case n.Driver != c.cfg.Driver:
			r.add(name, Warning, "containers on it get no Cilium endpoint: use --driver "+c.cfg.Driver,
				"IPAM %s with network driver %s", n.IPAMDriver, n.Driver)
		case n.IPAMDriver != c.cfg.Driver:
			r.add(name, Failure, fmt.Sprintf("docker network rm %s; docker network create --driver %s --ipam-driver %[2]s %[1]s", n.Name, c.cfg.Driver),
				"IPAM driver %s: its addresses are unknown to Cilium", n.IPAMDriver)
		default:
			r.add(name, OK, "", "driver %s, IPAM %s, %d containers", n.Driver, n.IPAMDriver, len(n.Members))
		}
	}
}

// pluginChecks reports the plugin's own state from its /metrics.
func (c *Checker) pluginChecks(r *Report, s samples, err error) {
	if c.cfg.MetricsAddress == "" {
		r.add("Plugin state", Unknown, "", "not read: give --metrics-address (the plugin's) to see it")
		return
	}
	if err != nil {
		r.add("Plugin state", Warning, "is the plugin running with --metrics-address "+c.cfg.MetricsAddress+"?",
			"metrics at %s: %v", c.cfg.MetricsAddress, err)
		return
	}
	managed, _ := s.sum(metrics.FullName(metrics.EndpointsManaged))
	errs, _ := s.sum(metrics.FullName("plugin_calls_total"), `result="error"`)
	calls, _ := s.sum(metrics.FullName("plugin_calls_total"))
	r.add("Plugin state", OK, "", "%.0f endpoints managed, %.0f calls answered, %.0f with an error", managed, calls, errs)

	passes, ok := s.sum(metrics.FullName(metrics.ReconcilerPasses))
	if !ok {
		r.add("Reconciler", Unknown, "", "not reported by this plugin")
	} else {
		last, _ := s.sum(metrics.FullName(metrics.ReconcilerLastPass))
		complete, _ := s.sum(metrics.FullName(metrics.ReconcilerLastOK))
		removed, _ := s.sum(metrics.FullName(metrics.ReconcilerRemoved))
		failures, _ := s.sum(metrics.FullName(metrics.ReconcilerFailures))
		age := c.now().Sub(time.Unix(0, int64(last*1e9))).Round(time.Second)
		detail := fmt.Sprintf("%.0f passes, last %s ago, %.0f removed, %.0f failed removals", passes, age, removed, failures)
		switch {
		case last == 0:
			r.add("Reconciler", OK, "", "no pass yet")
		case complete == 0:
			r.add("Reconciler", Warning, "the last pass could not read Docker or the agent: see the plugin's log", "%s; last pass incomplete", detail)
		case c.cfg.StaleAfter > 0 && age > c.cfg.StaleAfter:
			r.add("Reconciler", Warning, "the reconciler stopped passing: see the plugin's log", "%s", detail)
		default:
			r.add("Reconciler", OK, "", "%s", detail)
		}
	}
	rev, ok := s.sum(metrics.FullName(metrics.PolicyRevision))
	if !ok {
		r.add("Policy sync", Unknown, "", "not reported by this plugin")
		return
	}
	perrs, _ := s.sum(metrics.FullName(metrics.PolicyErrors))
	refused, _ := s.sum(metrics.FullName(metrics.PolicyRefused))
	failing, _ := s.sum(metrics.FullName(metrics.PolicyFailing))
	switch {
	case failing > 0:
		r.add("Policy sync", Warning, "etcd unreachable or the watch broke: see the plugin's log; the policies in force stay",
			"revision %.0f, last pass failed, %.0f errors since start", rev, perrs)
	case refused > 0:
		r.add("Policy sync", Warning, "cilium-docker policy list names the refused policy and why",
			"revision %.0f, %.0f policies refused", rev, refused)
	default:
		r.add("Policy sync", OK, "", "revision %.0f, %.0f errors since start", rev, perrs)
	}
	c.identityGC(r, s)
}
