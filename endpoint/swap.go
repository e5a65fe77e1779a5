package endpoint

import (
	"errors"
	"fmt"
	"net/netip"
)

// swap holds the host ports of an endpoint's new bindings while its old ones still stand: a port the
// endpoint holds already is handed over, not bound again, so a changed request may keep it; a port
// the new bindings need that only an old reservation of another host address blocks (0.0.0.0:8080
// becoming 127.0.0.1:8080) is freed for them. Until commit, undo puts back what it freed and closes
// what it bound: the old mappings, whose rules the kernel still holds, keep their ports.
type swap struct {
	p     *Ports
	old   []reservation
	kept  []bool // by index of old: handed over to a new binding
	freed []bool // by index of old: released for a new binding
	fresh []reservation
}

func (p *Ports) newSwap(eid ID) *swap {
	old := p.held[eid]
	return &swap{p: p, old: old, kept: make([]bool, len(old)), freed: make([]bool, len(old))}
}

// reserve holds a host port for each of bs, to ctr.
func (s *swap) reserve(bs []Binding, ctr netip.Addr) ([]reservation, error) {
	rs := make([]reservation, 0, len(bs))
	for _, b := range bs {
		if i := s.holding(b, func(m Mapping) bool { return m.HostIP == b.hostIP() }); i >= 0 {
			s.kept[i] = true
			m := s.old[i].m
			m.Container = netip.AddrPortFrom(ctr, b.Port)
			rs = append(rs, reservation{m: m, fd: s.old[i].fd})
			continue
		}
		r, err := reserve(s.p.ns, b, ctr)
		if errors.Is(err, ErrPortInUse) {
			if i := s.holding(b, func(Mapping) bool { return true }); i >= 0 {
				release(s.old[i : i+1])
				s.freed[i] = true
				r, err = reserve(s.p.ns, b, ctr)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("publish %d/%s: %w", b.Port, b.Proto, err)
		}
		s.fresh = append(s.fresh, r)
		rs = append(rs, r)
	}
	return rs, nil
}

// holding returns the index of an old reservation, neither kept nor freed, on a port b may take
// whose mapping also satisfies match; -1 when there is none.
func (s *swap) holding(b Binding, match func(Mapping) bool) int {
	for i, r := range s.old {
		if s.kept[i] || s.freed[i] || r.m.Proto != b.Proto || !match(r.m) {
			continue
		}
		if b.HostPort == 0 || r.m.HostPort >= b.HostPort && r.m.HostPort <= max(b.HostPortEnd, b.HostPort) {
			return i
		}
	}
	return -1
}

// commit closes the old reservations the new bindings did not keep.
func (s *swap) commit() {
	for i, r := range s.old {
		if !s.kept[i] && !s.freed[i] {
			release([]reservation{r})
		}
	}
}

// undo closes what reserve bound and takes the freed old ports back (best effort: something may have
// taken one meanwhile; its mapping's rules stand all the same).
func (s *swap) undo() {
	release(s.fresh)
	for i, r := range s.old {
		if !s.freed[i] {
			continue
		}
		b := Binding{Proto: r.m.Proto, Port: r.m.Container.Port(), HostIP: r.m.HostIP, HostPort: r.m.HostPort}
		if again, err := reserve(s.p.ns, b, r.m.Container.Addr()); err == nil {
			s.old[i].fd = again.fd
		}
	}
}
