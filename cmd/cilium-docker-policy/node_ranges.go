package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cilium-docker/cilium-docker/backoff"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/podrange"
)

func (c *nodeCmd) claim(ctx context.Context, args []string) error {
	node := args[0]
	if err := podrange.CheckNode(node); err != nil {
		return cli.Usage(err)
	}
	var static []netip.Prefix
	if c.ranges != "" {
		var err error
		if static, err = parsePrefixes("range", c.ranges); err != nil {
			return cli.Usage(err)
		}
	}
	var pool *podrange.Pool
	if c.pool != "" {
		p, err := c.poolOf(c.pool)
		if err != nil {
			return err
		}
		pool = &p
	}
	r, closeFn, err := c.open()
	if err != nil {
		return err
	}
	defer closeFn()
	cl, err := c.claimWaiting(ctx, r, node, pool, static)
	if err != nil {
		return err
	}
	if c.write != "" {
		if err := writeRangeFiles(c.write, cl); err != nil {
			return err
		}
	}
	if c.json {
		return c.printJSON(cl)
	}
	for _, p := range cl.Prefixes() {
		fmt.Fprintln(c.stdout, p)
	}
	return nil
}

// claimWaiting sets the pool if asked and claims, once, or with --wait until etcd answers and the cluster
// has a pool (a node whose stack starts before the cluster's etcd, or before the node that sets the pool):
// a refusal (an overlap, a conflict, a full pool) ends it at once.
func (c *nodeCmd) claimWaiting(ctx context.Context, r *podrange.Ranges, node string, pool *podrange.Pool, static []netip.Prefix) (podrange.Claim, error) {
	if c.wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.wait)
		defer cancel()
	}
	b := backoff.New(time.Second, 10*time.Second)
	for {
		cl, err := claimOnce(ctx, r, node, pool, static)
		if err == nil || c.wait <= 0 || refusal(err) {
			return cl, err
		}
		fmt.Fprintf(c.stderr, "claim %s: %v; trying again (--wait %s)\n", node, err, c.wait)
		if !b.Wait(ctx) {
			return cl, fmt.Errorf("claim %s: gave up after --wait %s: %w", node, c.wait, err)
		}
	}
}

func claimOnce(ctx context.Context, r *podrange.Ranges, node string, pool *podrange.Pool, static []netip.Prefix) (podrange.Claim, error) {
	if pool != nil {
		if _, err := r.EnsurePool(ctx, *pool); err != nil {
			return podrange.Claim{}, err
		}
	}
	if static != nil {
		return r.ClaimStatic(ctx, node, static...)
	}
	return r.Claim(ctx, node)
}

// refusal: an answer of the cluster's claims that waiting does not change (ErrNoPool does: another node
// may set the pool).
func refusal(err error) bool {
	for _, e := range []error{podrange.ErrPoolFull, podrange.ErrOverlap, podrange.ErrConflict} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (c *nodeCmd) list(ctx context.Context, _ []string) error {
	r, closeFn, err := c.open()
	if err != nil {
		return err
	}
	defer closeFn()
	pool, claims, err := r.List(ctx)
	if err != nil {
		return err
	}
	counts, err := r.Endpoints(ctx, claims...)
	if err != nil {
		return err
	}
	type row struct {
		podrange.Claim
		Endpoints int `json:"endpoints"`
	}
	rows := make([]row, len(claims))
	for i, cl := range claims {
		rows[i] = row{cl, counts[i]}
	}
	if c.json {
		return c.printJSON(map[string]any{"pool": pool, "nodes": rows})
	}
	if pool != nil {
		fmt.Fprintf(c.stdout, "pool: %s\n", pool)
	} else {
		fmt.Fprintln(c.stdout, "pool: none (set one with 'node pool set CIDR')")
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tIPV4\tIPV6\tKIND\tENDPOINTS\tCLAIMED")
	for _, r := range rows {
		kind := "pool"
		if r.Static {
			kind = "hand-set"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", r.Node, orDash(r.IPv4), orDash(r.IPv6), kind, r.Endpoints,
			r.Claimed.Format(time.RFC3339))
	}
	return w.Flush()
}

func orDash(p netip.Prefix) string {
	if !p.IsValid() {
		return "-"
	}
	return p.String()
}

func (c *nodeCmd) remove(ctx context.Context, args []string) error {
	r, closeFn, err := c.open()
	if err != nil {
		return err
	}
	defer closeFn()
	cl, n, err := r.Remove(ctx, args[0], c.force)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"removed": cl, "endpoints": n})
	}
	ranges := make([]string, 0, 2)
	for _, p := range cl.Prefixes() {
		ranges = append(ranges, p.String())
	}
	fmt.Fprintf(c.stdout, "removed  %s (%s)", cl.Node, strings.Join(ranges, ", "))
	if n > 0 {
		fmt.Fprintf(c.stdout, ", forced with %d endpoints in it", n)
	}
	fmt.Fprintln(c.stdout)
	return nil
}
