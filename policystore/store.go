package policystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
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
	Error   string    `json:"error,omitempty"`
	Updated time.Time `json:"updated"`
}

// Store is the policy prefix of one etcd cluster.
type Store struct {
	gw      *gateway
	prefix  string
	timeout time.Duration
}

// Open prepares the connection to etcd; nothing is dialled before the first call, which has its deadline.
func Open(c Config) (*Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	gw, err := newGateway(c)
	if err != nil {
		return nil, err
	}
	p := c.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return &Store{gw: gw, prefix: p, timeout: c.Timeout}, nil
}

// Close closes the idle connections.
func (s *Store) Close() error {
	s.gw.close()
	return nil
}

func (s *Store) policies() string          { return s.prefix + "policies/" }
func (s *Store) policyKey(k string) string { return s.policies() + k }
func (s *Store) nodes() string             { return s.prefix + "nodes/" }

func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Put stores the policy document under key and returns etcd's revision of the change.
func (s *Store) Put(ctx context.Context, key, doc string) (int64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	var r putResponse
	if err := s.gw.call(ctx, "/v3/kv/put", putRequest{Key: []byte(s.policyKey(key)), Value: []byte(doc)}, &r); err != nil {
		return 0, fmt.Errorf("etcd put %q: %w", key, err)
	}
	return int64(r.Header.Revision), nil
}

// Delete removes the policy under key; found is false when there was none.
func (s *Store) Delete(ctx context.Context, key string) (found bool, rev int64, err error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	var r deleteResponse
	if err := s.gw.call(ctx, "/v3/kv/deleterange", deleteRequest{Key: []byte(s.policyKey(key))}, &r); err != nil {
		return false, 0, fmt.Errorf("etcd delete %q: %w", key, err)
	}
	return r.Deleted > 0, int64(r.Header.Revision), nil
}

// ErrNotFound is Get's answer for a key without a policy.
var ErrNotFound = errors.New("no such policy")

// Get returns the policy under key.
func (s *Store) Get(ctx context.Context, key string) (*Policy, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	var r rangeResponse
	if err := s.gw.call(ctx, "/v3/kv/range", rangeRequest{Key: []byte(s.policyKey(key))}, &r); err != nil {
		return nil, fmt.Errorf("etcd get %q: %w", key, err)
	}
	if len(r.Kvs) == 0 {
		return nil, fmt.Errorf("policy %q: %w", key, ErrNotFound)
	}
	kv := r.Kvs[0]
	return &Policy{Key: key, YAML: string(kv.Value), Revision: int64(kv.ModRevision)}, nil
}

// list returns the keys and values under prefix and the store revision they are the state of.
func (s *Store) list(ctx context.Context, prefix string) ([]keyValue, int64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	var r rangeResponse
	if err := s.gw.call(ctx, "/v3/kv/range", rangeRequest{Key: []byte(prefix), RangeEnd: prefixEnd(prefix)}, &r); err != nil {
		return nil, 0, err
	}
	return r.Kvs, int64(r.Header.Revision), nil
}

// List returns every policy, sorted by key, and the store revision they are the state of.
func (s *Store) List(ctx context.Context) ([]Policy, int64, error) {
	kvs, rev, err := s.list(ctx, s.policies())
	if err != nil {
		return nil, 0, fmt.Errorf("etcd list policies: %w", err)
	}
	out := make([]Policy, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, Policy{Key: strings.TrimPrefix(string(kv.Key), s.policies()), YAML: string(kv.Value), Revision: int64(kv.ModRevision)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, rev, nil
}

// PutStatus writes the node's status.
func (s *Store) PutStatus(ctx context.Context, st NodeStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	var r putResponse
	if err := s.gw.call(ctx, "/v3/kv/put", putRequest{Key: []byte(s.nodes() + st.Node), Value: b}, &r); err != nil {
		return fmt.Errorf("etcd put status of %q: %w", st.Node, err)
	}
	return nil
}

// Statuses returns every node's status, sorted by node.
func (s *Store) Statuses(ctx context.Context) ([]NodeStatus, error) {
	kvs, _, err := s.list(ctx, s.nodes())
	if err != nil {
		return nil, fmt.Errorf("etcd list node statuses: %w", err)
	}
	var out []NodeStatus
	for _, kv := range kvs {
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
// the watch fails; it returns why it stopped (ErrCompacted: list again). The caller lists again after
// a failure (etcd away, the stream broken); the watch holds no deadline of its own beyond the dial and
// the answer's headers, and TCP keepalives find a peer that is gone.
func (s *Store) Watch(ctx context.Context, rev int64, changes chan<- Change) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := s.gw.watch(ctx, s.policies(), prefixEnd(s.policies()), rev+1, func(m *watchMessage) error {
		if m.Error != nil {
			return fmt.Errorf("etcd watch: %w", m.Error)
		}
		r := m.Result
		if r == nil {
			return nil
		}
		if r.CompactRevision != 0 {
			return fmt.Errorf("watch from revision %d (compacted at %d): %w", rev+1, r.CompactRevision, ErrCompacted)
		}
		if r.Canceled {
			return fmt.Errorf("etcd watch canceled: %s", r.CancelReason)
		}
		for _, ev := range r.Events {
			c := Change{Key: strings.TrimPrefix(string(ev.Kv.Key), s.policies()), Revision: int64(ev.Kv.ModRevision)}
			if ev.Type == "DELETE" {
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
		return nil
	})
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if err == nil {
		err = errors.New("etcd watch closed")
	}
	return err
}
