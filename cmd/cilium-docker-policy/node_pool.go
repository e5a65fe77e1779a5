package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/podrange"
)

func (c *nodeCmd) poolFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.perNode, "per-node", podrange.DefaultIPv4PerNode, "each node's IPv4 prefix length")
	fs.StringVar(&c.ipv6, "ipv6", "", "an IPv6 pool as well, split likewise")
	fs.IntVar(&c.ipv6PerNode, "ipv6-per-node", podrange.DefaultIPv6PerNode, "each node's IPv6 prefix length")
}

func (c *nodeCmd) poolSet(ctx context.Context, args []string) error {
	p := podrange.Pool{IPv4PerNode: c.perNode}
	var err error
	if p.IPv4, err = netip.ParsePrefix(args[0]); err != nil {
		return cli.Usage(fmt.Errorf("pool %q: %w", args[0], err))
	}
	if c.ipv6 != "" {
		if p.IPv6, err = netip.ParsePrefix(c.ipv6); err != nil {
			return cli.Usage(fmt.Errorf("--ipv6 %q: %w", c.ipv6, err))
		}
		p.IPv6PerNode = c.ipv6PerNode
	}
	if err := p.Validate(); err != nil {
		return err
	}
	r, closeFn, err := c.open()
	if err != nil {
		return err
	}
	defer closeFn()
	changed, err := r.SetPool(ctx, p)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"pool": p, "changed": changed})
	}
	what := "set"
	if !changed {
		what = "unchanged"
	}
	fmt.Fprintf(c.stdout, "pool %s: %s\n", p, what)
	return nil
}

func (c *nodeCmd) poolGet(ctx context.Context, _ []string) error {
	r, closeFn, err := c.open()
	if err != nil {
		return err
	}
	defer closeFn()
	p, err := r.GetPool(ctx)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(p)
	}
	fmt.Fprintln(c.stdout, p)
	return nil
}
