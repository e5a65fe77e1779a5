package podrange

import (
	"context"
	"fmt"
	"net/netip"
)

// Claim returns node's range: the one it already holds, else the pool's first free per-node prefix of
// each family the pool has, recorded in one transaction that commits only if no claim and not the pool
// changed since it read them (retried on conflict). A full pool is ErrPoolFull, naming the pool and
// how many nodes hold it.
func (r *Ranges) Claim(ctx context.Context, node string) (Claim, error) {
	if err := CheckNode(node); err != nil {
		return Claim{}, err
	}
	var out Claim
	err := r.retry(ctx, fmt.Sprintf("claim a range for %q", node), func(st state) (bool, error) {
		c, held := st.claims[node]
		// A node keeps what it holds; a pool claim made before the pool had IPv6 gets its IPv6 range
		// added (its IPv4 range stays).
		if held && (c.Static || c.IPv6.IsValid() || st.pool == nil || !st.pool.IPv6.IsValid()) {
			out = c
			return true, nil
		}
		if st.pool == nil {
			return false, fmt.Errorf("claim a range for %q: %w: set one with 'node pool set CIDR'", node, ErrNoPool)
		}
		others := taken(st.claims, node)
		if !held {
			c = Claim{Node: node, Claimed: r.now().UTC()}
			s4, err := st.pool.split4()
			if err != nil {
				return false, fmt.Errorf("pool in etcd: %w", err)
			}
			if c.IPv4, err = first(s4, others); err != nil {
				return false, fmt.Errorf("claim a range for %q: %w", node, err)
			}
		}
		if st.pool.IPv6.IsValid() {
			s6, err := st.pool.split6()
			if err != nil {
				return false, fmt.Errorf("pool in etcd: %w", err)
			}
			if c.IPv6, err = first(s6, others); err != nil {
				return false, fmt.Errorf("claim a range for %q: %w", node, err)
			}
		}
		return r.commitClaim(ctx, st, c, &out)
	})
	if err != nil {
		return Claim{}, err
	}
	return out, nil
}

// first is the split's first free prefix, or ErrPoolFull naming the pool and how many nodes hold a
// range in it (each node holds at most one prefix per family).
func first(s Split, taken []netip.Prefix) (netip.Prefix, error) {
	p, ok := s.First(taken)
	if !ok {
		nodes := 0
		for _, t := range taken {
			if t.Addr().BitLen() == s.Pool.Addr().BitLen() && t.Overlaps(s.Pool) {
				nodes++
			}
		}
		return netip.Prefix{}, fmt.Errorf("%w: %s (%s ranges) is held by %d nodes; widen the pool or remove a node",
			ErrPoolFull, s, s.Slots(), nodes)
	}
	return p, nil
}

// ClaimStatic records a hand-set range (a node's POD_RANGE) as node's claim, so that the pool never
// hands it out: at most one prefix per family, each a network address. It is refused when a prefix
// overlaps another node's claim (naming that node) or node already holds other ranges; claiming the
// same ranges again changes nothing.
func (r *Ranges) ClaimStatic(ctx context.Context, node string, prefixes ...netip.Prefix) (Claim, error) {
	if err := CheckNode(node); err != nil {
		return Claim{}, err
	}
	var v4, v6 netip.Prefix
	for _, p := range prefixes {
		switch {
		case !p.IsValid():
			return Claim{}, fmt.Errorf("range for %q: no CIDR", node)
		case p.Masked() != p:
			return Claim{}, fmt.Errorf("range %s for %q: not a network address (want %s)", p, node, p.Masked())
		case p.Bits() > maxPerNode(p.Addr()):
			return Claim{}, fmt.Errorf("range %s for %q: too small for a node (at most /%d)", p, node, maxPerNode(p.Addr()))
		case p.Addr().Is4() && !v4.IsValid():
			v4 = p
		case p.Addr().Is6() && !p.Addr().Is4In6() && !v6.IsValid():
			v6 = p
		default:
			return Claim{}, fmt.Errorf("range %s for %q: want at most one IPv4 and one IPv6 CIDR", p, node)
		}
	}
	if !v4.IsValid() && !v6.IsValid() {
		return Claim{}, fmt.Errorf("range for %q: no CIDR", node)
	}
	var out Claim
	err := r.retry(ctx, fmt.Sprintf("record the range of %q", node), func(st state) (bool, error) {
		if c, ok := st.claims[node]; ok {
			if c.sameRanges(v4, v6) {
				out = c
				return true, nil
			}
			return false, fmt.Errorf("record %s for %q: %w: the node holds %s; remove it first ('node remove %s')",
				joinPrefixes(v4, v6), node, ErrConflict, joinPrefixes(c.Prefixes()...), node)
		}
		for _, p := range []netip.Prefix{v4, v6} {
			if !p.IsValid() {
				continue
			}
			if n, q, ok := holder(st.claims, node, p); ok {
				return false, fmt.Errorf("range %s for %q %w: node %q holds %s", p, node, ErrOverlap, n, q)
			}
		}
		c := Claim{Node: node, IPv4: v4, IPv6: v6, Static: true, Claimed: r.now().UTC()}
		return r.commitClaim(ctx, st, c, &out)
	})
	if err != nil {
		return Claim{}, err
	}
	return out, nil
}

func joinPrefixes(ps ...netip.Prefix) string {
	s := ""
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		if s != "" {
			s += ","
		}
		s += p.String()
	}
	return s
}

// commitClaim writes c in one transaction on the state st was read at; on success *out is c with the
// revision it was written at.
func (r *Ranges) commitClaim(ctx context.Context, st state, c Claim, out *Claim) (bool, error) {
	op, err := r.putClaim(c)
	if err != nil {
		return false, err
	}
	ok, rev, err := r.commit(ctx, st, op)
	c.Revision = rev
	*out = c
	return ok, err
}
