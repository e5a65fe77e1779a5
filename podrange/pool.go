package podrange

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// SetPool sets the cluster pool. Setting the pool it already is changes nothing (changed false).
// Another pool is refused (ErrConflict) while a claim the pool handed out would not fit inside it;
// hand-set claims stay as they are, inside the new pool or not, and the pool never hands them out.
func (r *Ranges) SetPool(ctx context.Context, p Pool) (changed bool, err error) {
	b, err := p.encode()
	if err != nil {
		return false, err
	}
	err = r.retry(ctx, "set the pool", func(st state) (bool, error) {
		if st.pool != nil && *st.pool == p {
			return true, nil
		}
		if err := strandedClaims(p, st.claims); err != nil {
			return false, err
		}
		ok, _, err := r.commit(ctx, st, clientv3.OpPut(r.poolKey(), string(b)))
		changed = ok
		return ok, err
	})
	return changed, err
}

// strandedClaims refuses a pool that a claim it handed out would not fit.
func strandedClaims(p Pool, claims map[string]Claim) error {
	s4, err := p.split4()
	if err != nil {
		return err
	}
	var s6 *Split
	if p.IPv6.IsValid() {
		s, err := p.split6()
		if err != nil {
			return err
		}
		s6 = &s
	}
	for _, n := range sortedNodes(claims) {
		c := claims[n]
		if c.Static {
			continue
		}
		if c.IPv4.IsValid() && !s4.Contains(c.IPv4) {
			return fmt.Errorf("set the pool %s: %w: node %q holds %s outside it; remove the node first", p, ErrConflict, n, c.IPv4)
		}
		if c.IPv6.IsValid() && (s6 == nil || !s6.Contains(c.IPv6)) {
			return fmt.Errorf("set the pool %s: %w: node %q holds %s outside it; remove the node first", p, ErrConflict, n, c.IPv6)
		}
	}
	return nil
}

// GetPool returns the pool (ErrNoPool when none is set).
func (r *Ranges) GetPool(ctx context.Context) (Pool, error) {
	st, err := r.read(ctx)
	if err != nil {
		return Pool{}, err
	}
	if st.pool == nil {
		return Pool{}, fmt.Errorf("%w: set one with 'node pool set CIDR'", ErrNoPool)
	}
	return *st.pool, nil
}

// EnsurePool sets the pool when none is set yet, in one transaction (every node's first start may carry
// the same pool: the first one sets it, the others find it). The pool already set is kept when it is p
// (set false); another pool already set is refused (ErrConflict): only 'node pool set' changes a pool.
func (r *Ranges) EnsurePool(ctx context.Context, p Pool) (set bool, err error) {
	b, err := p.encode()
	if err != nil {
		return false, err
	}
	err = r.retry(ctx, "set the pool", func(st state) (bool, error) {
		switch {
		case st.pool == nil:
			ok, _, err := r.commit(ctx, st, clientv3.OpPut(r.poolKey(), string(b)))
			set = ok
			return ok, err
		case *st.pool == p:
			return true, nil
		default:
			return false, fmt.Errorf("the pool %s: %w: the cluster's pool is %s; change it with 'node pool set'", p, ErrConflict, *st.pool)
		}
	})
	return set, err
}

// encode is the pool's key value, once it is valid.
func (p Pool) encode() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(p)
}
