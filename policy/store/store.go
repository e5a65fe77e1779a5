package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Policy is one stored policy document.
type Policy struct {
	// Key is the policy's name in its scope: "<name>" for a CCNP, "<namespace>/<name>" for a CNP.
	Key  string `json:"key"`
	YAML string `json:"yaml"`
	// Revision is etcd's revision of the key's last change.
	Revision int64 `json:"revision"`
}

// NodeStatus is what one node's sync reports: the store revision it applied and, per policy, the
// revision of the document in force there or why it was refused.
type NodeStatus struct {
	Node     string            `json:"node"`
	Revision int64             `json:"revision"`
	Applied  map[string]int64  `json:"applied,omitempty"`
	Errors   map[string]string `json:"errors,omitempty"`
	// Error is a problem of the whole node (the directory cannot be written, say).
	Error string `json:"error,omitempty"`
	// AgentVersion is the node's cilium-agent version, as the plugin read it when it started the sync
	// (empty: not known).
	AgentVersion string    `json:"agentVersion,omitempty"`
	Updated      time.Time `json:"updated"`
}

// Store is the policy prefix of one etcd cluster.
type Store struct {
	cli     *clientv3.Client
	prefix  string
	timeout time.Duration
}

// Open connects to etcd; the first call waits for the connection, under its deadline.
func Open(c Config) (*Store, error) {
	cli, err := Dial(c)
	if err != nil {
		return nil, err
	}
	return New(cli, c), nil
}

// New is the store of c's prefix over cli, a client Dial returned (shared with another owner of keys in
// the same etcd, the identity GC of the policy sync); Close closes cli.
func New(cli *clientv3.Client, c Config) *Store {
	p := c.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return &Store{cli: cli, prefix: p, timeout: c.Timeout}
}

// Dial returns an etcd v3 client of c (its endpoints and TLS files; c.Prefix is not used) for another
// owner of keys in the same etcd (podrange): one place that knows how the project connects.
func Dial(c Config) (*clientv3.Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	t, err := c.tls()
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.Endpoints,
		TLS:         t,
		DialTimeout: c.Timeout,
		Logger:      zap.NewNop(),
		// Keep the connection's health known while etcd is away, so a watch resumes once it is back.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: c.Timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(c.Endpoints, ","), err)
	}
	return cli, nil
}

// Close closes the connection.
func (s *Store) Close() error { return s.cli.Close() }

func (s *Store) policies() string          { return s.prefix + "policies/" }
func (s *Store) policyKey(k string) string { return s.policies() + k }
func (s *Store) nodes() string             { return s.prefix + "nodes/" }

// call is the context of one etcd call: its deadline, and the leader required (a member that knows it has
// no leader answers etcdserver: no leader rather than hold the call; on the bed, with two of three members
// stopped, policy apply still ended at its deadlines, 14 s).
func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(clientv3.WithRequireLeader(ctx), s.timeout)
}

// Put stores the policy document under key and returns etcd's revision of the change.
func (s *Store) Put(ctx context.Context, key, doc string) (int64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	r, err := s.cli.Put(ctx, s.policyKey(key), doc)
	if err != nil {
		return 0, callError(fmt.Sprintf("put %q", key), err)
	}
	return r.Header.Revision, nil
}

// Delete removes the policy under key; found is false when there was none.
func (s *Store) Delete(ctx context.Context, key string) (found bool, rev int64, err error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	r, err := s.cli.Delete(ctx, s.policyKey(key))
	if err != nil {
		return false, 0, callError(fmt.Sprintf("delete %q", key), err)
	}
	return r.Deleted > 0, r.Header.Revision, nil
}

// ErrNotFound is Get's answer for a key without a policy.
var ErrNotFound = errors.New("no such policy")

// Get returns the policy under key.
func (s *Store) Get(ctx context.Context, key string) (*Policy, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	r, err := s.cli.Get(ctx, s.policyKey(key))
	if err != nil {
		return nil, callError(fmt.Sprintf("get %q", key), err)
	}
	if len(r.Kvs) == 0 {
		return nil, fmt.Errorf("policy %q: %w", key, ErrNotFound)
	}
	kv := r.Kvs[0]
	return &Policy{Key: key, YAML: string(kv.Value), Revision: kv.ModRevision}, nil
}

// List returns every policy, sorted by key, and the store revision they are the state of.
func (s *Store) List(ctx context.Context) ([]Policy, int64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	r, err := s.cli.Get(ctx, s.policies(), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, callError("list policies", err)
	}
	out := make([]Policy, 0, len(r.Kvs))
	for _, kv := range r.Kvs {
		out = append(out, Policy{Key: strings.TrimPrefix(string(kv.Key), s.policies()), YAML: string(kv.Value), Revision: kv.ModRevision})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, r.Header.Revision, nil
}

// PutStatus writes the node's status.
func (s *Store) PutStatus(ctx context.Context, st NodeStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	if _, err := s.cli.Put(ctx, s.nodes()+st.Node, string(b)); err != nil {
		return callError(fmt.Sprintf("put status of %q", st.Node), err)
	}
	return nil
}

// Statuses returns every node's status, sorted by node.
func (s *Store) Statuses(ctx context.Context) ([]NodeStatus, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	r, err := s.cli.Get(ctx, s.nodes(), clientv3.WithPrefix())
	if err != nil {
		return nil, callError("list node statuses", err)
	}
	var out []NodeStatus
	for _, kv := range r.Kvs {
		var st NodeStatus
		if err := json.Unmarshal(kv.Value, &st); err != nil {
			st = NodeStatus{Node: strings.TrimPrefix(string(kv.Key), s.nodes()), Error: "unreadable status: " + err.Error()}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out, nil
}

// Change is one change of the policy prefix seen by Watch.
type Change struct {
	Key    string
	YAML   string // empty for a delete
	Delete bool
	// Revision is the change's store revision.
	Revision int64
}

// ErrCompacted is Watch's error when the revision it was asked to start from is compacted away:
// List again.
var ErrCompacted = errors.New("etcd revision compacted")

// Watch sends every change of the policy prefix after revision rev to changes, until ctx is done or
// the watch fails; it returns why it stopped (ErrCompacted: list again). While etcd is unreachable it
// waits (the client reconnects and resumes from the last revision seen).
func (s *Store) Watch(ctx context.Context, rev int64, changes chan<- Change) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wc := s.cli.Watch(clientv3.WithRequireLeader(ctx), s.policies(), clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for resp := range wc {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("watch from revision %d (compacted at %d): %w", rev+1, resp.CompactRevision, ErrCompacted)
		}
		if err := resp.Err(); err != nil {
			return fmt.Errorf("etcd watch: %w", err)
		}
		for _, ev := range resp.Events {
			c := Change{Key: strings.TrimPrefix(string(ev.Kv.Key), s.policies()), Revision: ev.Kv.ModRevision}
			if ev.Type == clientv3.EventTypeDelete {
				c.Delete = true
			} else {
				c.YAML = string(ev.Kv.Value)
			}
			select {
			case changes <- c:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("etcd watch closed")
}
