package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/podrange"
	"github.com/cilium-docker/cilium-docker/policy/store"
)

const nodeUsage = `usage: %[1]s node COMMAND [flags] [ARGS]

Each node's pod range (the agent's --ipv4-range, --ipv6-range), claimed from one cluster pool kept in the
cluster's etcd (under --ranges-prefix, apart from Cilium's keys and the policies).

commands:
  claim NAME [--range CIDR[,CIDR]] [--pool CIDR[,CIDR]] [--write DIR] [--wait D]
                                    NAME's range: the one it holds, else the pool's next free one; prints
                                    the IPv4 range (and the IPv6 one on a second line). --range records a
                                    hand-set range (POD_RANGE) instead, refused when it overlaps a claim;
                                    --pool sets the cluster pool first if none is set (refused if another
                                    is); --write DIR also writes DIR/ipv4-range (and ipv6-range) for the agent;
                                    --wait D keeps trying while etcd is away or no pool is set yet
  list                              the pool, and every node with its range(s) and its endpoints in them
  remove NAME [--force]             free NAME's range; refused while Cilium's kvstore lists an endpoint
                                    IP in it (cilium/state/ip/v1/default/) or NAME's agent
                                    (cilium/state/nodes/v1/), unless --force
  pool set CIDR [--per-node N] [--ipv6 CIDR] [--ipv6-per-node N]
                                    set the cluster pool (refused while a claim would not fit it)
  pool get                          the cluster pool

Run '%[1]s node COMMAND --help' for a command's flags. Exit codes: 0 ok, 1 refused or failed, 2 usage.
`

// nodeCmd is one node command's flags and streams.
type nodeCmd struct {
	stdout      io.Writer
	stderr      io.Writer
	json        bool
	etcd        cliflags.Etcd
	prefix      string
	ranges      string
	pool        string
	wait        time.Duration
	write       string
	force       bool
	perNode     int
	ipv6        string
	ipv6PerNode int
}

// runNode runs `node ARGS`.
func runNode(ctx context.Context, prog string, args []string, streams cli.IO) error {
	// sub is the command name of the table under "node" (group "") or "node pool" (group "pool").
	sub := func(group, name, argsUsage string, flags func(*nodeCmd, *flag.FlagSet), do func(*nodeCmd, context.Context, []string) error) cli.Command {
		full := strings.Join(strings.Fields("node "+group+" "+name), " ")
		return cli.Command{Name: name, Run: func(ctx context.Context, args []string, streams cli.IO) error {
			return runNodeCommand(ctx, prog, full, argsUsage, flags, do, args, streams)
		}}
	}
	none := func(*nodeCmd, *flag.FlagSet) {}
	usageText := func(w io.Writer) { fmt.Fprintf(w, nodeUsage, prog) }
	pool := cli.Table{
		Commands: []cli.Command{
			sub("pool", "set", "CIDR", (*nodeCmd).poolFlags, (*nodeCmd).poolSet),
			sub("pool", "get", "", none, (*nodeCmd).poolGet),
		},
		Default: func(_ context.Context, args []string, streams cli.IO) error {
			usageText(streams.Err)
			if len(args) == 0 {
				return cli.Usage(errors.New("node pool: want set or get"))
			}
			return cli.Usage(fmt.Errorf("node pool: unknown command %q", args[0]))
		},
	}
	t := cli.Table{
		Commands: []cli.Command{
			sub("", "claim", "NAME", func(c *nodeCmd, fs *flag.FlagSet) {
				fs.StringVar(&c.ranges, "range", "", "a hand-set range to record for NAME (its POD_RANGE), an IPv4 CIDR and/or an IPv6 one, comma-separated")
				fs.StringVar(&c.write, "write", "", "also write the range(s) into this directory as the agent's flag files (ipv4-range, ipv6-range)")
				fs.StringVar(&c.pool, "pool", "", "the cluster pool to set first when none is set (an IPv4 CIDR and/or an IPv6 one, comma-separated; split by --per-node, --ipv6-per-node); another pool already set is refused")
				fs.IntVar(&c.perNode, "per-node", podrange.DefaultIPv4PerNode, "with --pool: each node's IPv4 prefix length")
				fs.IntVar(&c.ipv6PerNode, "ipv6-per-node", podrange.DefaultIPv6PerNode, "with --pool: each node's IPv6 prefix length")
				fs.DurationVar(&c.wait, "wait", 0, "keep trying this long while etcd does not answer or no pool is set yet (0: once)")
			}, (*nodeCmd).claim),
			sub("", "list", "", none, (*nodeCmd).list),
			sub("", "remove", "NAME", func(c *nodeCmd, fs *flag.FlagSet) {
				fs.BoolVar(&c.force, "force", false, "free the range even while endpoints are in it (never from the environment)")
			}, (*nodeCmd).remove),
			{Name: "pool", Run: pool.Dispatch},
			{Name: "help", Aliases: []string{"-h", "--help"}, Run: func(_ context.Context, _ []string, streams cli.IO) error {
				usageText(streams.Out)
				return nil
			}},
		},
		Default: func(_ context.Context, args []string, streams cli.IO) error {
			usageText(streams.Err)
			if len(args) == 0 {
				return cli.Usage(errors.New("node: no command"))
			}
			return cli.Usage(fmt.Errorf("node: unknown command %q", args[0]))
		},
	}
	return t.Dispatch(ctx, args, streams)
}

// runNodeCommand parses one node command's flags, which may come before or after its arguments (`remove
// NAME --force`), and its arguments (argsUsage: "" none, else exactly one), then does it.
func runNodeCommand(ctx context.Context, prog, name, argsUsage string, flags func(*nodeCmd, *flag.FlagSet),
	do func(*nodeCmd, context.Context, []string) error, args []string, streams cli.IO) error {
	c := &nodeCmd{stdout: streams.Out, stderr: streams.Err}
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(streams.Err)
	fs.BoolVar(&c.json, "json", false, "print JSON")
	c.etcd.RegisterConn(fs)
	fs.StringVar(&c.prefix, "ranges-prefix", podrange.DefaultPrefix, "etcd key prefix of the pool and the claims")
	flags(c, fs)
	fs.Usage = func() {
		fmt.Fprintf(streams.Out, "usage: %s %s [flags] %s\n", prog, name, argsUsage)
		fs.SetOutput(streams.Out)
		fs.PrintDefaults()
		fs.SetOutput(streams.Err)
	}
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return cli.Usage(err)
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		if args[0] == "--" {
			rest = append(rest, args[1:]...)
			break
		}
		rest, args = append(rest, args[0]), args[1:]
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if err := cliflags.ApplyEnv(fs); err != nil {
		return cli.Usage(err)
	}
	if !given["force"] {
		c.force = false // freeing a range in use is asked for on the command line only
	}
	switch {
	case argsUsage == "" && len(rest) > 0:
		return cli.Usage(fmt.Errorf("%s: unexpected argument %q", name, rest[0]))
	case argsUsage != "" && len(rest) != 1:
		fs.Usage()
		return cli.Usage(fmt.Errorf("%s: want %s", name, argsUsage))
	}
	return do(c, ctx, rest)
}

// open dials etcd with the connection flags (policy/store.Dial: the agent's etcd.config and TLS files,
// as the policy commands) and returns the ranges and their closer.
func (c *nodeCmd) open() (*podrange.Ranges, func(), error) {
	if !c.etcd.Set() {
		return nil, nil, cli.Usage(errors.New("no etcd: set --etcd-endpoints or --etcd-config (CILIUM_DOCKER_ETCD_ENDPOINTS)"))
	}
	cfg, err := storeConfig(&c.etcd)
	if err != nil {
		return nil, nil, cli.Usage(err)
	}
	client, err := store.Dial(cfg)
	if err != nil {
		return nil, nil, err
	}
	r, err := podrange.New(client, c.prefix, cfg.Timeout)
	if err != nil {
		client.Close()
		return nil, nil, cli.Usage(err)
	}
	return r, func() { client.Close() }, nil
}

func (c *nodeCmd) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parsePrefixes parses a comma list of CIDRs.
func parsePrefixes(flagName, s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range cliflags.SplitList(s) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", flagName, f, err)
		}
		out = append(out, p)
	}
	return out, nil
}
