package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

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
	if pool != nil {
		if _, err := r.EnsurePool(ctx, *pool); err != nil {
			return err
		}
	}
	var cl podrange.Claim
	if static != nil {
		cl, err = r.ClaimStatic(ctx, node, static...)
	} else {
		cl, err = r.Claim(ctx, node)
	}
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
