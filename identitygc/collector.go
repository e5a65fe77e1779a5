package identitygc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cilium/cilium/pkg/allocator"
	"github.com/cilium/cilium/pkg/identity"
	"github.com/cilium/cilium/pkg/idpool"
	"github.com/cilium/cilium/pkg/kvstore"
	kvstoreallocator "github.com/cilium/cilium/pkg/kvstore/allocator"
	"github.com/cilium/cilium/pkg/rate"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/cilium-docker/cilium-docker/backoff"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
)

// The operator's defaults (operator/option: identity-gc-rate-interval, identity-gc-rate-limit): at most
// 2500 removals a minute, so that a pass after a mass removal does not flood etcd.
const (
	rateInterval = time.Minute
	rateLimit    = 2500
)

// identitiesPath is where the agents keep the identities in the kvstore: Cilium's
// pkg/identity/cache.IdentitiesPath, the same expression, without the package, which links Kubernetes'
// client-go for its CRD backend (about 12 MB resident in the sync's process).
var identitiesPath = kvstore.JoinKey(kvstore.BaseKeyPrefix, "state", "identities", "v1")

// Options configure a Collector.
type Options struct {
	Interval  time.Duration // between the passes of the elected collector
	ClusterID uint32        // the agents' --cluster-id: the pass touches that cluster's identity range only
	Node      string        // this collector's name in the election
	Timeout   time.Duration // each etcd call's deadline
	// Report is called with the collector's state after every pass and every change of leadership.
	Report func(syncreport.IdentityGC)
	// Retry is the backoff after a lost or failed election term (backoff.New(time.Second, 30*time.Second)
	// when nil).
	Retry *backoff.Backoff
}

// Collector runs Cilium's kvstore identity garbage collection while this process is the elected one.
type Collector struct {
	cli   *clientv3.Client
	opt   Options
	log   *slog.Logger
	alloc *allocator.Allocator
	limit *rate.Limiter

	mu    sync.Mutex
	state syncreport.IdentityGC // guarded by mu
}

// New returns the collector over cli (the etcd client of the cluster's kvstore); Run runs it.
func New(cli *clientv3.Client, log *slog.Logger, opt Options) (*Collector, error) {
	if opt.Interval <= 0 {
		return nil, fmt.Errorf("identity gc interval %s: want > 0", opt.Interval)
	}
	if opt.Retry == nil {
		opt.Retry = backoff.New(time.Second, 30*time.Second)
	}
	// As operator/identitygc startKVStoreModeGC: the kvstore backend on the identities' path, the
	// allocator for GC over the cluster's range.
	be, err := kvstoreallocator.NewKVStoreBackend(log, kvstoreallocator.KVStoreBackendConfiguration{
		BasePath: identitiesPath, Backend: NewBackend(cli, opt.Timeout)})
	if err != nil {
		return nil, fmt.Errorf("identity gc: the kvstore backend: %w", err)
	}
	minID := idpool.ID(identity.GetMinimalAllocationIdentity(opt.ClusterID))
	maxID := idpool.ID(identity.GetMaximumAllocationIdentity(opt.ClusterID))
	return &Collector{cli: cli, opt: opt, log: log,
		alloc: allocator.NewAllocatorForGC(log, be, allocator.WithMin(minID), allocator.WithMax(maxID)),
		limit: rate.NewLimiter(rateInterval, rateLimit)}, nil
}

// State is the collector's state now.
func (c *Collector) State() syncreport.IdentityGC {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *Collector) update(f func(*syncreport.IdentityGC)) {
	c.mu.Lock()
	f(&c.state)
	s := c.state
	c.mu.Unlock()
	if c.opt.Report != nil {
		c.opt.Report(s)
	}
}

// Run campaigns for the election and, while elected, passes every Interval, until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	for {
		err := c.term(ctx)
		if ctx.Err() != nil {
			return nil
		}
		c.log.Warn("identity gc: election term ended; campaigning again", "error", err, "retry", c.opt.Retry.Next())
		if !c.opt.Retry.Wait(ctx) {
			return nil
		}
	}
}

// term is one election term: campaign, then pass while elected. It returns when the session's lease is
// lost (etcd unreachable past its TTL) or ctx ends; a new term starts with no stale keys marked, so its
// first removals come at its second pass.
func (c *Collector) term(ctx context.Context) error {
	l, err := Campaign(ctx, c.cli, c.opt.Node, c.opt.Timeout)
	if err != nil {
		return err
	}
	defer l.Resign()
	c.opt.Retry.Reset()
	c.log.Info("identity gc: elected", "node", c.opt.Node, "interval", c.opt.Interval)
	c.update(func(s *syncreport.IdentityGC) { s.Leader = true })
	defer c.update(func(s *syncreport.IdentityGC) { s.Leader = false })
	lctx := l.Context(ctx)
	stale := map[string]uint64{}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-lctx.Done():
			if ctx.Err() != nil {
				return nil
			}
			return errors.New("identity gc: the election's lease was lost")
		case <-t.C:
		}
		stale = c.pass(lctx, stale)
		t.Reset(c.opt.Interval)
	}
}

// pass is one RunGC: it removes the master keys stale already at the last pass and unchanged since, and
// returns those stale now (or the last ones when it failed).
func (c *Collector) pass(ctx context.Context, prev map[string]uint64) map[string]uint64 {
	next, st, err := c.alloc.RunGC(ctx, c.limit, prev)
	now := time.Now().Unix()
	if err != nil {
		c.log.Warn("identity gc: pass failed", "error", err)
		c.update(func(s *syncreport.IdentityGC) { s.LastPass, s.Failures, s.Failing = now, s.Failures+1, true })
		return prev
	}
	c.log.Info("identity gc: pass", "alive", st.Alive, "removed", st.Deleted, "marked", len(next))
	c.update(func(s *syncreport.IdentityGC) {
		s.Passes++
		s.LastPass, s.Alive, s.Removed, s.Failing = now, st.Alive, s.Removed+uint64(st.Deleted), false
	})
	return next
}
