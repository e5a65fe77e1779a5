package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netns"
)

// Ports publishes container ports on the node (docker run -p): a DNAT rule per mapping in the
// plugin's nftables table `ip cilium-docker`, each marked with its endpoint, and a socket bound on
// each host port so that nothing else takes it. Its methods are safe for concurrent use; they run one
// at a time.
type Ports struct {
	ns      netns.NsHandle // target netns; not open = the calling thread's netns
	timeout time.Duration  // bounds each operation, on top of the caller's context

	mu   sync.Mutex
	held map[ID][]reservation // guarded by mu: the sockets on each endpoint's host ports
}

// NewPorts works in the process's current netns (the node's). timeout bounds every operation on top
// of its context; ≤ 0 means DefaultTimeout.
func NewPorts(timeout time.Duration) *Ports { return NewPortsAt(netns.None(), timeout) }

// NewPortsAt works in the netns ns, which the caller keeps open while the Ports is in use.
func NewPortsAt(ns netns.NsHandle, timeout time.Duration) *Ports {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Ports{ns: ns, timeout: timeout, held: map[ID][]reservation{}}
}

// Publish makes each binding of eid reach ctr (the container's IPv4 address) and returns the mappings
// in the order of bs. Equivalent to: a bound socket per host port, then the rules of addRules in one
// atomic batch. A repeated call with the same bindings returns the mappings in place; different
// bindings replace them, in the same batch, and a failure keeps the old ones. A host port in use fails
// the call (wrapping ErrPortInUse) and changes nothing. Empty bs removes whatever eid published.
func (p *Ports) Publish(ctx context.Context, eid ID, ctr netip.Addr, bs []Binding) (_ []Mapping, err error) {
	if eid.IsZero() {
		return nil, errZeroID("publish ports")
	}
	if len(bs) == 0 {
		return nil, p.Unpublish(ctx, eid)
	}
	if !ctr.Is4() {
		return nil, fmt.Errorf("publish ports of endpoint %s: the container has no IPv4 address", eid)
	}
	for _, b := range bs {
		if err := b.Validate(); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ms, ok := p.sameLocked(eid, ctr, bs); ok {
		return ms, nil
	}
	ctx, cancel := nftDeadline(ctx, p.timeout)
	defer cancel()
	sw := p.newSwap(eid)
	defer func() {
		if err != nil {
			sw.undo()
		}
	}()
	rs, err := sw.reserve(bs, ctr)
	if err != nil {
		return nil, fmt.Errorf("publish ports of endpoint %s: %w", eid, err)
	}
	if err := p.localnetLocked(ctx, eid, rs); err != nil {
		return nil, err
	}
	c, err := nftConn(ctx, p.ns)
	if err != nil {
		return nil, fmt.Errorf("publish ports of endpoint %s: %w", eid, err)
	}
	st, err := p.stateLocked(c, eid)
	if err != nil {
		return nil, fmt.Errorf("publish ports of endpoint %s: %w", eid, err)
	}
	for _, r := range st.mine {
		if err := c.DelRule(r); err != nil {
			return nil, fmt.Errorf("publish ports of endpoint %s: %w", eid, err)
		}
	}
	ensureTable(c)
	for _, r := range rs {
		addRules(c, eid, r.m)
	}
	if err := flush(c, "replace nftables rules"); err != nil {
		return nil, fmt.Errorf("publish ports of endpoint %s: %w", eid, err)
	}
	sw.commit()
	p.held[eid] = rs
	if st.loopback.IsValid() && !coversLoopback(rs) {
		// The old mappings needed loopback, the new ones do not.
		if err := p.disallowLocalnet(ctx, eid, st.loopback, !st.othersLoopback); err != nil {
			return mappings(rs), fmt.Errorf("publish ports of endpoint %s: published, but %w", eid, err)
		}
	}
	return mappings(rs), nil
}

// sameLocked returns eid's mappings when they already are what bs asks for.
func (p *Ports) sameLocked(eid ID, ctr netip.Addr, bs []Binding) ([]Mapping, bool) {
	rs, ok := p.held[eid]
	if !ok || len(rs) != len(bs) {
		return nil, false
	}
	for i, b := range bs {
		if !rs[i].m.satisfies(b, ctr) {
			return nil, false
		}
	}
	return mappings(rs), true
}

// localnetLocked lets the loopback mappings among rs work (allowLocalnet). A loopback host address
// needs it; for a mapping on every address it is only what makes 127.0.0.1 work too, and is skipped
// where it fails.
func (p *Ports) localnetLocked(ctx context.Context, eid ID, rs []reservation) error {
	need, strict := false, false
	for _, r := range rs {
		need = need || r.m.coversLoopback()
		strict = strict || r.m.HostIP.IsLoopback()
	}
	if !need { // every mapping goes to the same container: one setting covers them all
		return nil
	}
	ctr := rs[0].m.Container.Addr()
	if err := p.allowLocalnet(ctx, eid, ctr); err != nil && strict {
		return fmt.Errorf("publish on a loopback address: allow loopback sources towards %s: %w", ctr, err)
	}
	return nil
}

// Unpublish removes every mapping of eid, in the kernel and its reservations, and the table with the
// last ones. Nothing published is success.
// Equivalent to: `nft delete rule ip cilium-docker $chain handle $h` for each rule of eid.
func (p *Ports) Unpublish(ctx context.Context, eid ID) error {
	if eid.IsZero() {
		return errZeroID("unpublish ports")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := nftDeadline(ctx, p.timeout)
	defer cancel()
	return p.unpublishLocked(ctx, eid)
}

func (p *Ports) unpublishLocked(ctx context.Context, eid ID) error {
	c, err := nftConn(ctx, p.ns)
	if err != nil {
		return fmt.Errorf("unpublish ports of endpoint %s: %w", eid, err)
	}
	st, err := p.stateLocked(c, eid)
	if err != nil {
		return fmt.Errorf("unpublish ports of endpoint %s: %w", eid, err)
	}
	// route_localnet goes first, while the guard still stands.
	if st.loopback.IsValid() {
		if err := p.disallowLocalnet(ctx, eid, st.loopback, !st.othersLoopback); err != nil {
			return fmt.Errorf("unpublish ports of endpoint %s: %w", eid, err)
		}
	}
	n := len(st.mine)
	if n > 0 && n == st.total {
		// The last mappings: the table goes with them, chains and all. Equivalent to:
		// `nft delete table ip cilium-docker`.
		c.DelTable(natTable())
	} else {
		for _, r := range st.mine {
			if err := c.DelRule(r); err != nil {
				return fmt.Errorf("unpublish ports of endpoint %s: %w", eid, err)
			}
		}
	}
	if n > 0 {
		if err := flush(c, "delete nftables rules"); err != nil {
			return fmt.Errorf("unpublish ports of endpoint %s: %w", eid, err)
		}
	}
	release(p.held[eid])
	delete(p.held, eid)
	return nil
}

// Published returns the mappings of every endpoint as the kernel holds them.
func (p *Ports) Published(ctx context.Context) (map[ID][]Mapping, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := nftDeadline(ctx, p.timeout)
	defer cancel()
	return p.publishedLocked(ctx)
}

func (p *Ports) publishedLocked(ctx context.Context) (map[ID][]Mapping, error) {
	c, err := nftConn(ctx, p.ns)
	if err != nil {
		return nil, fmt.Errorf("list published ports: %w", err)
	}
	rules, err := listRules(c)
	if err != nil {
		return nil, fmt.Errorf("list published ports: %w", err)
	}
	out := map[ID][]Mapping{}
	for _, r := range rules {
		if r.rule.Chain.Name == chainOutput { // every mapping has its one rule there
			out[r.eid] = append(out[r.eid], r.m)
		}
	}
	return out, nil
}

// Restore takes the host ports of the mappings the kernel holds (a restarted plugin's, whose rules
// outlived the old process) so that they stay reserved, and returns how many it holds. A port
// something else took meanwhile is reported and its mapping left in place. A table with mappings gets
// the loopback guard, which an older plugin's table lacks.
func (p *Ports) Restore(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := nftDeadline(ctx, p.timeout)
	defer cancel()
	pub, err := p.publishedLocked(ctx)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if len(pub) > 0 {
		if err := p.guardLocked(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	n := 0
	for eid, ms := range pub {
		if _, ok := p.held[eid]; ok {
			continue
		}
		var rs []reservation
		for _, m := range ms {
			b := Binding{Proto: m.Proto, Port: m.Container.Port(), HostIP: m.HostIP, HostPort: m.HostPort}
			r, err := reserve(p.ns, b, m.Container.Addr())
			if err != nil {
				errs = append(errs, fmt.Errorf("restore %s of endpoint %s: %w", m, eid, err))
				continue
			}
			rs = append(rs, r)
		}
		p.held[eid] = rs
		n += len(rs)
	}
	return n, errors.Join(errs...)
}

// Close releases every reservation; the rules stay for the next process to Restore.
func (p *Ports) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for eid, rs := range p.held {
		release(rs)
		delete(p.held, eid)
	}
}

// coversLoopback reports whether any of rs answers on loopback.
func coversLoopback(rs []reservation) bool {
	return slices.ContainsFunc(rs, func(r reservation) bool { return r.m.coversLoopback() })
}

func mappings(rs []reservation) []Mapping {
	out := make([]Mapping, len(rs))
	for i, r := range rs {
		out[i] = r.m
	}
	return out
}
