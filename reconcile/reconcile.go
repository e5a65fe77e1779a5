package reconcile

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/cilium/cilium/api/v1/models"
	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// Docker is what the reconciler reads from Docker: every network, whatever its driver (see read).
type Docker interface {
	Networks(ctx context.Context) ([]dockerapi.Network, error)
	ContainerNames(ctx context.Context) (map[string]bool, error)
}

// Agent is what the reconciler reads from and removes at cilium-agent.
type Agent interface {
	Endpoints(ctx context.Context) ([]*models.Endpoint, error)
	Allocations(ctx context.Context) (map[netip.Addr]string, error)
	Endpoint(ctx context.Context, id string) (*models.Endpoint, error)
	DeleteEndpoint(ctx context.Context, id string) (deleted bool, err error)
	Release(ctx context.Context, ip netip.Addr) error
}

// Links is the kernel side: the host links whose alias marks them as this plugin's, and the pairs a
// killed process added without getting to the alias.
type Links interface {
	ListOwned(ctx context.Context) ([]endpoint.Link, error)
	ListUnfinished(ctx context.Context) ([]string, error)
	DeleteOwned(ctx context.Context, host string) error
}

// Ports is the kernel side of published ports: the mappings in place by endpoint, their removal, and
// the repair of the rules of the mappings this process holds (after an `nft flush ruleset`).
type Ports interface {
	Published(ctx context.Context) (map[endpoint.ID][]endpoint.Mapping, error)
	Unpublish(ctx context.Context, eid endpoint.ID) error
	Repair(ctx context.Context) (int, error)
}

// DockerRetryWindow is how long dockerd keeps retrying a plugin call that found no plugin
// (moby pkg/plugins/client.go callWithRetry: 30 s). A call the previous plugin process took but did
// not answer may reach this one that late, so nothing is removed before it has passed.
const DockerRetryWindow = 30 * time.Second

// allocationsLag is how stale the agent's allocation list may be (its status collector refreshes
// it every 5 s), with margin: handler work that recent protects an address too.
const allocationsLag = 10 * time.Second

// MinInterval is the shortest interval between passes: two passes must see two different
// snapshots of the agent's allocation list.
const MinInterval = 2 * allocationsLag

// Config tunes the reconciler.
type Config struct {
	Interval time.Duration // between passes; the first runs at start
	Hold     time.Duration // after start nothing is removed; DockerRetryWindow in production
	Owner    string        // the owner of the plugin's addresses in the agent's IPAM
}

// Stats counts the reconciler's work since start.
type Stats struct {
	Passes     uint64 // passes that read Docker and the agent completely
	Incomplete uint64 // passes that could not, and so removed nothing
	Endpoints  uint64 // agent endpoints removed
	Links      uint64 // host links removed
	Addresses  uint64 // addresses released at the agent
	Ports      uint64 // endpoints whose published ports were removed
	Failures   uint64 // removals that failed (tried again at the next pass)
	// PortsRepaired counts the endpoints whose published ports' rules the kernel had lost and a pass
	// put back.
	PortsRepaired uint64
	// LastPass is when the last pass, complete or not, read its snapshot (zero: none yet);
	// LastComplete whether it read Docker and the agent completely.
	LastPass     time.Time
	LastComplete bool
}

// Reconciler removes what the plugin made and no Docker endpoint explains. An object is removed only
// when two consecutive passes that read Docker and the agent completely found it unexplained, no
// handler worked on it since the first of them, and the process is older than Config.Hold.
type Reconciler struct {
	log     *logrus.Entry
	docker  Docker
	agent   Agent
	links   Links
	ports   Ports
	tracker *Tracker
	removed func(ctx context.Context, eid endpoint.ID)
	cfg     Config
	started time.Time
	now     func() time.Time

	prev    *snapshot // the previous pass, if it was complete; only Run's goroutine touches it
	pending bool      // the last pass left candidates to confirm (new ones, or held back by the hold)

	passes, incomplete, endpoints, linksRemoved, addresses, portsRemoved, failures, portsRepaired atomic.Uint64
	lastPass                                                                                      atomic.Int64 // unix ns; < 0: incomplete
}

// Deps is what a Reconciler is made of. Every field is required: the daemon wires the real parts,
// tests no-op fakes.
type Deps struct {
	Log    *logrus.Entry
	Docker Docker
	Agent  Agent
	Links  Links
	// Ports are the published ports: the reconciler removes those no Docker endpoint explains.
	Ports Ports
	// Tracker is the handlers' in-flight set: what they work on is not garbage.
	Tracker *Tracker
	// Removed is told of each agent endpoint the reconciler removed, as Leave would have been: the
	// driver's egress counts forget it (driver.Egress.Forget).
	Removed func(ctx context.Context, eid endpoint.ID)
}

// New returns a reconciler; Run starts it. The hold-off counts from now.
func New(d Deps, cfg Config) *Reconciler {
	return &Reconciler{log: d.Log, docker: d.Docker, agent: d.Agent, links: d.Links, ports: d.Ports, tracker: d.Tracker,
		removed: d.Removed, cfg: cfg, started: time.Now(), now: time.Now}
}

// Stats returns what the reconciler did so far.
func (r *Reconciler) Stats() Stats {
	st := Stats{Passes: r.passes.Load(), Incomplete: r.incomplete.Load(), Endpoints: r.endpoints.Load(),
		Links: r.linksRemoved.Load(), Addresses: r.addresses.Load(), Ports: r.portsRemoved.Load(), Failures: r.failures.Load(),
		PortsRepaired: r.portsRepaired.Load()}
	if last := r.lastPass.Load(); last != 0 {
		st.LastComplete = last > 0
		st.LastPass = time.Unix(0, max(last, -last))
	}
	return st
}

// Run passes at once and then every Config.Interval until ctx is done. A pass that found something
// unexplained for the first time, or could not remove it yet for the hold, is confirmed sooner: the
// next pass follows after MinInterval (enough for a fresh allocation list), so what Docker forgot
// goes within one interval of its first sighting. The second pass follows the hold.
func (r *Reconciler) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.log.WithError(err).Warn("reconcile pass")
		}
		next := r.cfg.Interval
		if r.pending {
			next = min(next, MinInterval)
		}
		if first {
			// Once the hold is over, the calls the previous process left half-done have come or
			// will not: look again then rather than a whole interval later.
			next = min(next, max(r.cfg.Hold, MinInterval))
			first = false
		}
		t.Reset(next)
	}
}

// Pass reads Docker, the agent and the kernel once and removes what this pass and the one before
// found unexplained. When Docker or the agent cannot be read completely it removes nothing, forgets
// the previous pass (the two must be consecutive) and says why.
func (r *Reconciler) Pass(ctx context.Context) error {
	r.repairPorts(ctx)
	start := r.now()
	cur, err := r.read(ctx)
	if err != nil {
		r.prev = nil
		r.incomplete.Add(1)
		r.lastPass.Store(-start.UnixNano())
		return fmt.Errorf("nothing removed: %w", err)
	}
	r.passes.Add(1)
	r.lastPass.Store(start.UnixNano())
	prev := r.prev
	r.prev = cur
	held := cur.start.Sub(r.started) < r.cfg.Hold
	r.pending = cur.hasNew(prev) || (held && !cur.empty())
	if prev == nil || held {
		return nil
	}
	return r.remove(ctx, prev, cur)
}

// repairPorts puts back the rules of the published ports this process holds that the kernel lost
// (an `nft flush ruleset`, as a reload of nftables.service does). It removes nothing, so it needs no
// complete pass; a failure is logged and tried again at the next pass.
func (r *Reconciler) repairPorts(ctx context.Context) {
	n, err := r.ports.Repair(ctx)
	if err != nil {
		r.log.WithError(err).Warn("reconcile: repair published ports")
	}
	if n > 0 {
		r.portsRepaired.Add(uint64(n))
		r.log.WithField("endpoints", n).Warn("put back the published ports' rules the kernel had lost (an nft flush ruleset?)")
	}
}
