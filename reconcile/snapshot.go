package reconcile

import (
	"context"
	"net/netip"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// snapshot is what one complete pass found unexplained.
type snapshot struct {
	start time.Time
	eps   map[endpoint.ID]int64    // Docker endpoint ID -> the agent's numeric ID (for the log)
	links map[string]endpoint.Link // by host-side name
	ips   map[netip.Addr]bool
	ports map[endpoint.ID]bool // endpoints with published ports
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
// created meanwhile is seen), then the agent, then the kernel. Docker's networks are all of them,
// whatever their driver: agent endpoints, link aliases, the address owner and the nft table look the
// same for every instance of the plugin on the node (the process plugin's "cilium", the managed
// plugin's "cilium-docker:latest"), and this process cannot know every name another one serves under.
// A network it cannot inspect fails the pass.
func (r *Reconciler) read(ctx context.Context) (*snapshot, error) {
	cur := &snapshot{start: r.now(), eps: map[endpoint.ID]int64{}, links: map[string]endpoint.Link{}, ips: map[netip.Addr]bool{},
		ports: map[endpoint.ID]bool{}}
	nets, err := r.docker.Networks(ctx)
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

	// A Docker endpoint, on a network of any driver, explains the plugin's state for its ID (agent
	// endpoint, link, published ports) and its addresses while it is in a sandbox or while a
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
	holder := map[netip.Addr]endpoint.ID{} // the Docker endpoint whose agent endpoint holds the address; zero: not ours
	for _, ep := range eps {
		cid, ifName, _ := agent.Attachment(ep) // none: "", which names no Docker endpoint
		eid, ours := endpoint.ParseAttachment(cid, ifName)
		for _, ip := range endpointIPs(ep) {
			used[ip] = true // held by an endpoint, ours or not
			holder[ip] = eid
		}
		if ours && !explained[eid] {
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
	pub, err := r.ports.Published(ctx)
	if err != nil { // mappings it could not read are not candidates
		r.log.WithError(err).Warn("reconcile: read published ports")
	}
	// A mapping is dead when no Docker endpoint explains it, and also when its address is no
	// longer its own endpoint's at the agent: Docker may keep a stale record of a stopped
	// container whose address an agent restart freed, and the next container to get the address
	// would receive the public port.
	for eid, ms := range pub {
		if !explained[eid] || !holdsAll(holder, eid, ms) {
			cur.ports[eid] = true
		}
	}
	return cur, nil
}

// holdsAll reports whether eid's agent endpoint holds the container address of every one of ms.
func holdsAll(holder map[netip.Addr]endpoint.ID, eid endpoint.ID, ms []endpoint.Mapping) bool {
	for _, m := range ms {
		if h, ok := holder[m.Container.Addr()]; !ok || h != eid {
			return false
		}
	}
	return true
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
