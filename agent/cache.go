package agent

import (
	"context"
	"sync"
	"time"
)

// Cached is a Client whose Config answers come from a cache: the agent's addressing and MTU change
// only when the agent is reconfigured, and handlers on Docker's serialised paths must not wait for it.
type Cached struct {
	*Client
	ttl time.Duration
	mu  sync.Mutex
	cfg *Config   // guarded by mu
	at  time.Time // guarded by mu

	nodes   NodeRanges // guarded by mu
	nodesAt time.Time  // guarded by mu
}

// nodesTTL is how long the cluster's node ranges are reused: a node that joins is routed by the
// containers that start after this long.
const nodesTTL = 5 * time.Second

// NodeRanges returns the cluster's node ranges, from a cache of a few seconds; when the agent cannot
// answer, the last list it gave.
func (c *Cached) NodeRanges(ctx context.Context) (NodeRanges, error) {
	c.mu.Lock()
	nodes, at := c.nodes, c.nodesAt
	c.mu.Unlock()
	if !at.IsZero() && time.Since(at) < min(nodesTTL, c.ttl) {
		return nodes, nil
	}
	fresh, err := c.Client.NodeRanges(ctx)
	if err != nil {
		if !at.IsZero() {
			return nodes, nil
		}
		return NodeRanges{}, err
	}
	c.mu.Lock()
	c.nodes, c.nodesAt = fresh, time.Now()
	c.mu.Unlock()
	return fresh, nil
}

// NewCached wraps c with a configuration cache whose entries are fresh for ttl.
func NewCached(c *Client, ttl time.Duration) *Cached { return &Cached{Client: c, ttl: ttl} }

// Config returns the cached configuration while it is fresh and fetches it otherwise. When the fetch
// fails, a stale configuration is still returned: it only changes with an agent reconfiguration, and
// calls that need the agent itself fail on their own with a clear error.
func (c *Cached) Config(ctx context.Context) (*Config, error) {
	c.mu.Lock()
	cfg, at := c.cfg, c.at
	c.mu.Unlock()
	if cfg != nil && time.Since(at) < c.ttl {
		return cfg, nil
	}
	fresh, err := c.Client.Config(ctx)
	if err != nil {
		if cfg != nil {
			return cfg, nil
		}
		return nil, err
	}
	c.mu.Lock()
	c.cfg, c.at = fresh, time.Now()
	c.mu.Unlock()
	return fresh, nil
}
