package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/cilium/cilium/api/v1/models"
	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// Docker is what the reconciler reads from Docker.
type Docker interface {
	Networks(ctx context.Context, driver string) ([]dockerapi.Network, error)
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

// Ports is the kernel side of published ports: the mappings in place by endpoint, and their removal.
type Ports interface {
	Published(ctx context.Context) (map[endpoint.ID][]endpoint.Mapping, error)
	Unpublish(ctx context.Context, eid endpoint.ID) error
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
	Driver   string        // the plugin's network and IPAM driver name
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
	ports   Ports // nil: the reconciler leaves published ports alone
	tracker *Tracker
	cfg     Config
	started time.Time
	now     func() time.Time

	prev    *snapshot // the previous pass, if it was complete; only Run's goroutine touches it
	pending bool      // the last pass left candidates to confirm (new ones, or held back by the hold)

	passes, incomplete, endpoints, linksRemoved, addresses, portsRemoved, failures atomic.Uint64
	lastPass                                                                       atomic.Int64 // unix ns; < 0: incomplete
}

// snapshot is what one complete pass found unexplained.
type snapshot struct {
	start time.Time
	eps   map[endpoint.ID]int64    // Docker endpoint ID -> the agent's numeric ID (for the log)
	links map[string]endpoint.Link // by host-side name
	ips   map[netip.Addr]bool
	ports map[endpoint.ID]bool // endpoints with published ports
}

// New returns a reconciler; Run starts it. The hold-off counts from now.
func New(log *logrus.Entry, d Docker, a Agent, l Links, t *Tracker, cfg Config) *Reconciler {
	return &Reconciler{log: log, docker: d, agent: a, links: l, tracker: t, cfg: cfg, started: time.Now(), now: time.Now}
}

// WithPorts makes the reconciler remove published ports no Docker endpoint explains; call it before Run.
func (r *Reconciler) WithPorts(p Ports) *Reconciler {
	r.ports = p
	return r
}

// Stats returns what the reconciler did so far.
func (r *Reconciler) Stats() Stats {
	st := Stats{Passes: r.passes.Load(), Incomplete: r.incomplete.Load(), Endpoints: r.endpoints.Load(),
		Links: r.linksRemoved.Load(), Addresses: r.addresses.Load(), Ports: r.portsRemoved.Load(), Failures: r.failures.Load()}
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

func (s *snapshot) empty() bool { return len(s.eps)+len(s.links)+len(s.ips)+len(s.ports) == 0 }

// hasNew reports whether s holds a candidate prev (nil: none) did not.
func (s *snapshot) hasNew(prev *snapshot) bool {
	if prev == nil {
		return !s.empty()
	}
	for eid := range s.eps {
		if _, ok := prev.eps[eid]; !ok {
			return true
		}
	}
	for host := range s.links {
		if _, ok := prev.links[host]; !ok {
			return true
		}
	}
	for ip := range s.ips {
		if !prev.ips[ip] {
			return true
		}
	}
	for eid := range s.ports {
		if !prev.ports[eid] {
			return true
		}
	}
	return false
}

// read takes one snapshot: Docker first (its networks, then its containers, so that a container
// created meanwhile is seen), then the agent, then the kernel.
func (r *Reconciler) read(ctx context.Context) (*snapshot, error) {
	cur := &snapshot{start: r.now(), eps: map[endpoint.ID]int64{}, links: map[string]endpoint.Link{}, ips: map[netip.Addr]bool{},
		ports: map[endpoint.ID]bool{}}
	nets, err := r.docker.Networks(ctx, r.cfg.Driver)
	if err != nil {
		return nil, err
	}
	names, err := r.docker.ContainerNames(ctx)
	if err != nil {
		return nil, err
	}
	eps, err := r.agent.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	allocs, err := r.agent.Allocations(ctx)
	if err != nil {
		return nil, err
	}
	owned, err := r.links.ListOwned(ctx)
	if err != nil { // links it could not read or parse are not candidates: nothing else to do
		r.log.WithError(err).Warn("reconcile: read owned links")
	}

	// A Docker endpoint explains the plugin's state for it while it is in a sandbox or while a
	// container of its name exists: a starting container's (CreateEndpoint done, Join pending), or a
	// stopped one's that Docker keeps as a stale record. Only a record whose container is gone (docker
	// rm while the plugin was down) explains nothing.
	explained := map[endpoint.ID]bool{}
	hosts := map[string]bool{}
	used := map[netip.Addr]bool{}
	for _, n := range nets {
		used = addAll(used, n.Aux...)
		for _, ep := range n.Endpoints {
			if !ep.Joined && !names[ep.Name] {
				continue
			}
			used = addAll(used, ep.IPv4, ep.IPv6)
			if eid, err := endpoint.ParseID(ep.ID); err == nil {
				explained[eid] = true
				hosts[endpoint.NamesFor(eid).Host] = true
			}
		}
	}
	for _, ep := range eps {
		for _, ip := range endpointIPs(ep) {
			used[ip] = true // held by an endpoint, ours or not
		}
		if eid, ok := driver.DockerEndpointID(ep); ok && !explained[eid] {
			cur.eps[eid] = ep.ID
		}
	}
	for _, l := range owned {
		if !hosts[l.Host] {
			cur.links[l.Host] = l
		}
	}
	unfinished, err := r.links.ListUnfinished(ctx)
	if err != nil {
		r.log.WithError(err).Warn("reconcile: read unfinished links")
	}
	for _, host := range unfinished {
		if !hosts[host] {
			cur.links[host] = endpoint.Link{Names: endpoint.Names{Host: host}}
		}
	}
	for ip, owner := range allocs {
		if owner == r.cfg.Owner && !used[ip] {
			cur.ips[ip] = true
		}
	}
	if r.ports != nil {
		pub, err := r.ports.Published(ctx)
		if err != nil { // mappings it could not read are not candidates
			r.log.WithError(err).Warn("reconcile: read published ports")
		}
		for eid := range pub {
			if !explained[eid] {
				cur.ports[eid] = true
			}
		}
	}
	return cur, nil
}

// remove removes what both passes found unexplained and no handler touched since the first began.
// Agent endpoints go first: the agent frees their addresses with them.
func (r *Reconciler) remove(ctx context.Context, prev, cur *snapshot) error {
	busyEps, busyIPs := r.tracker.busySince(prev.start.Add(-allocationsLag), cur.start.Add(-time.Hour))
	busyHosts := map[string]bool{}
	for eid := range busyEps {
		busyHosts[endpoint.NamesFor(eid).Host] = true
	}
	var errs []error
	fail := func(err error) {
		r.failures.Add(1)
		errs = append(errs, err)
	}
	for eid, id := range cur.eps {
		if _, ok := prev.eps[eid]; !ok || busyEps[eid] {
			continue
		}
		deleted, err := r.agent.DeleteEndpoint(ctx, driver.AgentID(eid))
		if err != nil {
			fail(fmt.Errorf("remove agent endpoint %d of docker endpoint %s: %w", id, eid, err))
			continue
		}
		if !deleted {
			continue // gone since the pass read it
		}
		r.endpoints.Add(1)
		r.log.WithFields(logrus.Fields{"endpoint": id, "docker-endpoint": eid}).
			Info("removed agent endpoint no Docker endpoint explains")
	}
	for host, l := range cur.links {
		if _, ok := prev.links[host]; !ok || busyHosts[host] {
			continue
		}
		if err := r.links.DeleteOwned(ctx, host); err != nil {
			fail(err)
			continue
		}
		r.linksRemoved.Add(1)
		r.log.WithFields(logrus.Fields{"link": host, "network": l.NetworkID, "ipv4": l.IPv4}).
			Info("removed host link no Docker endpoint explains")
	}
	for eid := range cur.ports {
		if !prev.ports[eid] || busyEps[eid] {
			continue
		}
		if err := r.ports.Unpublish(ctx, eid); err != nil {
			fail(err)
			continue
		}
		r.portsRemoved.Add(1)
		r.log.WithField("docker-endpoint", eid).Info("removed published ports no Docker endpoint explains")
	}
	for ip := range cur.ips {
		if !prev.ips[ip] || busyIPs[ip] {
			continue
		}
		if err := r.release(ctx, ip); err != nil {
			fail(err)
			continue
		}
	}
	return errors.Join(errs...)
}

// release frees ip after a last, uncached look that no endpoint holds it.
func (r *Reconciler) release(ctx context.Context, ip netip.Addr) error {
	prefix := "ipv4:"
	if ip.Is6() {
		prefix = "ipv6:"
	}
	ep, err := r.agent.Endpoint(ctx, prefix+ip.String())
	switch {
	case err == nil:
		r.log.WithFields(logrus.Fields{"ip": ip, "endpoint": ep.ID}).Debug("address taken by an endpoint since the pass: kept")
		return nil
	case !errors.Is(err, agent.ErrNotFound):
		return fmt.Errorf("release address %s: %w", ip, err)
	}
	if err := r.agent.Release(ctx, ip); err != nil {
		return err
	}
	r.addresses.Add(1)
	r.log.WithField("ip", ip).Info("released address no Docker endpoint or agent endpoint explains")
	return nil
}

func endpointIPs(ep *models.Endpoint) []netip.Addr {
	if ep.Status == nil || ep.Status.Networking == nil {
		return nil
	}
	var out []netip.Addr
	for _, p := range ep.Status.Networking.Addressing {
		if p == nil {
			continue
		}
		for _, s := range []string{p.IPv4, p.IPv6} {
			if ip, err := netip.ParseAddr(s); err == nil {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

func addAll(m map[netip.Addr]bool, ips ...netip.Addr) map[netip.Addr]bool {
	for _, ip := range ips {
		if ip.IsValid() {
			m[ip] = true
		}
	}
	return m
}
