package podrange

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// List returns the pool (nil when none is set) and every node's claim, sorted by node.
func (r *Ranges) List(ctx context.Context) (*Pool, []Claim, error) {
	st, err := r.read(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Claim, 0, len(st.claims))
	for _, n := range sortedNodes(st.claims) {
		out = append(out, st.claims[n])
	}
	return st.pool, out, nil
}

func sortedNodes(claims map[string]Claim) []string {
	names := make([]string, 0, len(claims))
	for n := range claims {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Endpoints counts, for each claim, the endpoint IPs Cilium's agents publish (CiliumIPPrefix) inside
// its ranges, from one read.
func (r *Ranges) Endpoints(ctx context.Context, claims ...Claim) ([]int, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	resp, err := r.cli.Get(ctx, CiliumIPPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("etcd read cilium's endpoint IPs: %w", err)
	}
	out := make([]int, len(claims))
	for _, kv := range resp.Kvs {
		ip, err := netip.ParseAddr(strings.TrimPrefix(string(kv.Key), CiliumIPPrefix))
		if err != nil {
			continue
		}
		for i, c := range claims {
			if c.Contains(ip) {
				out[i]++
			}
		}
	}
	return out, nil
}

// Registered reports whether a cilium-agent of any cluster is registered in the kvstore under node's
// name (CiliumNodePrefix), from one read.
func (r *Ranges) Registered(ctx context.Context, node string) (bool, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	resp, err := r.cli.Get(ctx, CiliumNodePrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return false, fmt.Errorf("etcd read cilium's nodes: %w", err)
	}
	for _, kv := range resp.Kvs {
		k := strings.TrimPrefix(string(kv.Key), CiliumNodePrefix)
		if k[strings.LastIndexByte(k, '/')+1:] == node {
			return true, nil
		}
	}
	return false, nil
}

// Remove frees node's range and returns the claim it removed and how many endpoints were in it. It
// refuses (ErrInUse) while Cilium's kvstore still lists an endpoint IP inside the range, or the node's
// agent as registered, unless force. What appears between the reads and the delete is not seen: the
// reads are a guard against freeing a live node's range, not a lock.
func (r *Ranges) Remove(ctx context.Context, node string, force bool) (Claim, int, error) {
	if err := CheckNode(node); err != nil {
		return Claim{}, 0, err
	}
	_, claims, err := r.List(ctx)
	if err != nil {
		return Claim{}, 0, err
	}
	var c Claim
	found := false
	for _, x := range claims {
		if x.Node == node {
			c, found = x, true
		}
	}
	if !found {
		return Claim{}, 0, fmt.Errorf("remove %q: %w: it holds no range", node, ErrNotFound)
	}
	counts, err := r.Endpoints(ctx, c)
	if err != nil {
		return c, 0, err
	}
	n := counts[0]
	if n > 0 && !force {
		return c, n, fmt.Errorf("remove %q: %w: %d endpoints in %s (cilium's %s keys); stop them, or --force",
			node, ErrInUse, n, joinPrefixes(c.Prefixes()...), CiliumIPPrefix)
	}
	if !force {
		alive, err := r.Registered(ctx, node)
		if err != nil {
			return c, n, err
		}
		if alive {
			return c, n, fmt.Errorf("remove %q: %w: its cilium-agent is registered (a %s<cluster>/%s key, which the agent's "+
				"lease keeps until its TTL after the agent stopped); stop the node's stack and wait, or --force",
				node, ErrInUse, CiliumNodePrefix, node)
		}
	}
	ctx, cancel := r.call(ctx)
	defer cancel()
	resp, err := r.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(r.claimKey(node)), "=", c.Revision)).
		Then(clientv3.OpDelete(r.claimKey(node))).Commit()
	if err != nil {
		return c, n, fmt.Errorf("etcd remove %q: %w", node, err)
	}
	if !resp.Succeeded {
		return c, n, fmt.Errorf("remove %q: %w: its claim changed meanwhile; try again", node, ErrConflict)
	}
	return c, n, nil
}
