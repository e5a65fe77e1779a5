package identitygc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cilium/cilium/pkg/kvstore"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// lockTTL is the lease (seconds) of the locks a pass takes, Cilium's own (pkg/defaults LockLeaseTTL,
// 25 s): a collector that dies holding one frees it within that.
const lockTTL = 25

// errNotForGC is the answer of the kvstore operations the garbage collector never calls.
var errNotForGC = errors.New("not an operation of the identity garbage collector")

// Backend is kvstore.BackendOperations over one etcd client, for the kvstore allocator backend's RunGC:
// ListPrefix, LockPath, ListPrefixIfLocked and DeleteIfLocked, as Cilium's etcd client does them
// (pkg/kvstore/etcd.go: the lock is a concurrency.Mutex on the path, the locked calls are transactions
// on its ownership). Every other operation fails with errNotForGC: nothing here creates or updates a key.
type Backend struct {
	cli     *clientv3.Client
	timeout time.Duration // each etcd call's deadline
}

var _ kvstore.BackendOperations = (*Backend)(nil)

// NewBackend returns the backend over cli; timeout bounds each call.
func NewBackend(cli *clientv3.Client, timeout time.Duration) *Backend {
	return &Backend{cli: cli, timeout: timeout}
}

func (b *Backend) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.timeout)
}

func toPairs(kvs []*mvccpb.KeyValue) kvstore.KeyValuePairs {
	out := make(kvstore.KeyValuePairs, len(kvs))
	for _, kv := range kvs {
		out[string(kv.Key)] = kvstore.Value{Data: kv.Value, ModRevision: uint64(kv.ModRevision), LeaseID: kv.Lease}
	}
	return out
}

// ListPrefix lists the keys under prefix with their values, revisions and leases.
func (b *Backend) ListPrefix(ctx context.Context, prefix string) (kvstore.KeyValuePairs, error) {
	ctx, cancel := b.call(ctx)
	defer cancel()
	r, err := b.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	return toPairs(r.Kvs), nil
}

// mutex is one held lock: the etcd mutex and its own session (lease), closed on Unlock.
type mutex struct {
	mu   *concurrency.Mutex
	sess *concurrency.Session
}

func (m *mutex) Unlock(ctx context.Context) error {
	err := m.mu.Unlock(ctx)
	return errors.Join(err, m.sess.Close())
}

// Comparator is the transaction condition that the lock is still held.
func (m *mutex) Comparator() any { return m.mu.IsOwner() }

// LockPath takes the etcd mutex on path, the lock Cilium's agents and operator take on it.
func (b *Backend) LockPath(ctx context.Context, path string) (kvstore.KVLocker, error) {
	sess, err := concurrency.NewSession(b.cli, concurrency.WithTTL(lockTTL), concurrency.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("lock %s: session: %w", path, err)
	}
	mu := concurrency.NewMutex(sess, path)
	if err := mu.Lock(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("lock %s: %w", path, err), sess.Close())
	}
	return &mutex{mu: mu, sess: sess}, nil
}

func owned(lock kvstore.KVLocker) (clientv3.Cmp, error) {
	cmp, ok := lock.Comparator().(clientv3.Cmp)
	if !ok {
		return clientv3.Cmp{}, fmt.Errorf("lock of type %T is not an etcd lock", lock)
	}
	return cmp, nil
}

// ListPrefixIfLocked lists the keys under prefix while lock is held, in one transaction.
func (b *Backend) ListPrefixIfLocked(ctx context.Context, prefix string, lock kvstore.KVLocker) (kvstore.KeyValuePairs, error) {
	cmp, err := owned(lock)
	if err != nil {
		return nil, err
	}
	ctx, cancel := b.call(ctx)
	defer cancel()
	r, err := b.cli.Txn(ctx).If(cmp).Then(clientv3.OpGet(prefix, clientv3.WithPrefix())).Commit()
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	if !r.Succeeded {
		return nil, fmt.Errorf("list %s: %w", prefix, kvstore.ErrLockLeaseExpired)
	}
	return toPairs(r.Responses[0].GetResponseRange().Kvs), nil
}

// DeleteIfLocked deletes key while lock is held, in one transaction.
func (b *Backend) DeleteIfLocked(ctx context.Context, key string, lock kvstore.KVLocker) error {
	cmp, err := owned(lock)
	if err != nil {
		return err
	}
	ctx, cancel := b.call(ctx)
	defer cancel()
	r, err := b.cli.Txn(ctx).If(cmp).Then(clientv3.OpDelete(key)).Commit()
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if !r.Succeeded {
		return fmt.Errorf("delete %s: %w", key, kvstore.ErrLockLeaseExpired)
	}
	return nil
}

// Close leaves the client to its owner.
func (b *Backend) Close() {}
