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

// poolOf is claim's --pool: an IPv4 CIDR and/or an IPv6 one, split by --per-node and --ipv6-per-node.
func (c *nodeCmd) poolOf(list string) (podrange.Pool, error) {
	prefixes, err := parsePrefixes("pool", list)
	if err != nil {
		return podrange.Pool{}, cli.Usage(err)
	}
	var p podrange.Pool
	for _, pfx := range prefixes {
		v6 := pfx.Addr().Is6()
		switch {
		case !v6 && !p.IPv4.IsValid():
			p.IPv4, p.IPv4PerNode = pfx, c.perNode
		case v6 && !p.IPv6.IsValid():
			p.IPv6, p.IPv6PerNode = pfx, c.ipv6PerNode
		default:
			return podrange.Pool{}, cli.Usage(fmt.Errorf("--pool %q: at most one IPv4 and one IPv6 CIDR", list))
		}
	}
	if err := p.Validate(); err != nil {
		return podrange.Pool{}, fmt.Errorf("--pool %q: %w", list, err)
	}
	return p, nil
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
