package podrange

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultPrefix is where the pool and the claims live in etcd, apart from Cilium's own keys and the
// policies.
const DefaultPrefix = "cilium-docker/ranges/v1/"

// CiliumIPPrefix is where every cilium-agent publishes its endpoints' IPs in the kvstore: one key per
// IP, cilium/state/ip/v1/default/<IP>, its value the IP's identity and host (identity.IPIdentityPair),
// held by the agent's session lease (so a node that is gone for good loses its keys when the lease
// expires). Read at Cilium v1.19.7 and v1.20.2, pkg/ipcache/kvstore.go: IPIdentitiesPath =
// kvstore.JoinKey(kvstore.BaseKeyPrefix ("cilium"), "state", "ip", "v1"), the key
// JoinKey(IPIdentitiesPath, AddressSpace ("default"), IP.String()), written by IPIdentitySynchronizer.Upsert
// for every endpoint with an IP (the health endpoint too) and deleted with it. A key whose IP is in a
// node's range proves the range is in use.
const CiliumIPPrefix = "cilium/state/ip/v1/default/"

// CiliumNodePrefix is where every cilium-agent registers its node: one key per node,
// cilium/state/nodes/v1/<cluster>/<node>, held by the agent's session lease, so it stays while the agent
// runs and for up to the lease's TTL after it stopped. Read at Cilium v1.19.7 and v1.20.2:
// pkg/node/store/store.go (NodeStorePrefix, RegisterNode through a SharedStore whose local keys carry the
// lease, pkg/kvstore/store/store.go syncLocalKey) and pkg/node/types/node.go (GetKeyNodeName). A key for
// a node proves that node's agent is alive, even with no endpoint at all: the stack turns the health
// endpoint off (compose/agent-config/enable-endpoint-health-checking).
const CiliumNodePrefix = "cilium/state/nodes/v1/"

// maxAttempts bounds the optimistic transactions: each attempt loses only to a change another client
// committed, so with N nodes claiming at once a claim commits within N attempts.
const maxAttempts = 64

// Ranges is the pool and the claims under one prefix of one etcd cluster.
type Ranges struct {
	cli     *clientv3.Client
	prefix  string
	timeout time.Duration
	now     func() time.Time
}

// New keeps the ranges under prefix (DefaultPrefix when empty) through cli; timeout bounds each call.
func New(cli *clientv3.Client, prefix string, timeout time.Duration) (*Ranges, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("ranges prefix %q: want a trailing /", prefix)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("etcd timeout %s: want a positive duration", timeout)
	}
	return &Ranges{cli: cli, prefix: prefix, timeout: timeout, now: time.Now}, nil
}

func (r *Ranges) poolKey() string          { return r.prefix + "pool" }
func (r *Ranges) claims() string           { return r.prefix + "nodes/" }
func (r *Ranges) claimKey(n string) string { return r.claims() + n }

func (r *Ranges) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// state is the pool and every claim at one revision.
type state struct {
	pool    *Pool // nil: none set
	poolRev int64
	claims  map[string]Claim
	rev     int64
}

// read reads the pool and the claims in one transaction (one revision).
func (r *Ranges) read(ctx context.Context) (state, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	resp, err := r.cli.Txn(ctx).Then(clientv3.OpGet(r.poolKey()), clientv3.OpGet(r.claims(), clientv3.WithPrefix())).Commit()
	if err != nil {
		return state{}, fmt.Errorf("etcd read ranges: %w", err)
	}
	st := state{claims: map[string]Claim{}, rev: resp.Header.Revision}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		var p Pool
		if err := json.Unmarshal(kvs[0].Value, &p); err != nil {
			return state{}, fmt.Errorf("pool key %s: %w", r.poolKey(), err)
		}
		st.pool, st.poolRev = &p, kvs[0].ModRevision
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		c, err := decodeClaim(kv.Value, kv.ModRevision)
		if err != nil {
			return state{}, fmt.Errorf("claim key %s: %w", kv.Key, err)
		}
		st.claims[strings.TrimPrefix(string(kv.Key), r.claims())] = c
	}
	return st, nil
}

// unchanged are the comparisons that make a transaction commit only on the state it read: no claim
// and not the pool changed since.
func (r *Ranges) unchanged(st state) []clientv3.Cmp {
	return []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(r.claims()), "<", st.rev+1).WithPrefix(),
		clientv3.Compare(clientv3.ModRevision(r.poolKey()), "=", st.poolRev),
	}
}

// commit runs ops if the state is unchanged; ok false means another client changed it first.
func (r *Ranges) commit(ctx context.Context, st state, ops ...clientv3.Op) (ok bool, rev int64, err error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	resp, err := r.cli.Txn(ctx).If(r.unchanged(st)...).Then(ops...).Commit()
	if err != nil {
		return false, 0, fmt.Errorf("etcd commit ranges: %w", err)
	}
	return resp.Succeeded, resp.Header.Revision, nil
}

// retry runs attempt on a fresh state until it commits (done), fails, or maxAttempts lose to
// concurrent changes.
func (r *Ranges) retry(ctx context.Context, what string, attempt func(state) (done bool, err error)) error {
	for range maxAttempts {
		st, err := r.read(ctx)
		if err != nil {
			return err
		}
		done, err := attempt(st)
		if err != nil || done {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return fmt.Errorf("%s: %d attempts lost to concurrent changes: %w", what, maxAttempts, ErrContention)
}

func (r *Ranges) putClaim(c Claim) (clientv3.Op, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return clientv3.Op{}, err
	}
	return clientv3.OpPut(r.claimKey(c.Node), string(b)), nil
}

// taken are every claim's ranges but node's.
func taken(claims map[string]Claim, node string) []netip.Prefix {
	var out []netip.Prefix
	for n, c := range claims {
		if n != node {
			out = append(out, c.Prefixes()...)
		}
	}
	return out
}

// holder names the node whose claim overlaps p (other than node).
func holder(claims map[string]Claim, node string, p netip.Prefix) (string, netip.Prefix, bool) {
	for _, n := range sortedNodes(claims) {
		if n == node {
			continue
		}
		for _, q := range claims[n].Prefixes() {
			if q.Addr().BitLen() == p.Addr().BitLen() && q.Overlaps(p) {
				return n, q, true
			}
		}
	}
	return "", netip.Prefix{}, false
}

// CheckNode refuses a node name that cannot be one etcd key segment.
func CheckNode(node string) error {
	if node == "" || strings.ContainsAny(node, "/ \t\n") || len(node) > 253 {
		return fmt.Errorf("node name %q: want a non-empty name without / or spaces, at most 253 bytes", node)
	}
	return nil
}
