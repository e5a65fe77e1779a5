package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/policy"
)

// version is set at build time with -ldflags "-X main.version=...", as the plugin's.
var version = "dev"

// progName is how the user called the commands, for usage and errors.
func progName(argv0 string) string {
	if argv0 == cliflags.PolicyViaPlugin || argv0 == cliflags.PluginBinary {
		return argv0
	}
	return cliflags.PolicyBinary
}

const policyUsage = `usage: %[1]s COMMAND [flags] [ARGS]

Policies for every node of the cluster, kept in the cluster's etcd and written by each node's plugin
into its cilium-agent's static policy directory (--static-cnp-path). cilium-docker-policy and
'cilium-docker policy' are the same commands.

commands:
  check FILE...    check policy files with Cilium's own parser and the agent's rules (- reads stdin)
  apply FILE...    check, then store each policy in etcd (--local: write to this node's directory only)
  delete NAME...   remove policies (NAME, or NAMESPACE/NAME for a CiliumNetworkPolicy)
  list             every policy with its revision, which revision each node applied, or its error, and each
                   node's agent version
  get NAME         one policy's document and its nodes
  sync             keep --policy-dir equal to etcd (the plugin does it itself with --policy-dir)
  node COMMAND     each node's pod range from the cluster pool in etcd: claim, list, remove, pool set
                   (%[1]s node --help)
  version

Run '%[1]s COMMAND --help' for a command's flags. Exit codes: 0 ok, 1 refused or failed, 2 usage.
`

// usage marks err as a command line the command cannot run: exit code 2.
func usage(err error) error { return cli.Usage(err) }

// refusedError is input the command refused (a bad policy): exit code 1, already reported.
type refusedError struct{ n int }

func (e *refusedError) Error() string { return fmt.Sprintf("%d refused", e.n) }

type policyCmd struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	json           bool
	etcd           cliflags.Etcd
	local          bool
	dir            string
	cluster        string
	legacy         bool
	node           string
	agentVersion   string
	reportState    bool
	validate       bool
	gcInterval     time.Duration
	clusterID      uint
}

// run runs one policy command; prog is how the user called it (progName).
func run(ctx context.Context, prog string, args []string, streams cli.IO) error {
	return commands(prog).Dispatch(ctx, args, streams)
}

// commands is the policy binary's command table.
func commands(prog string) cli.Table {
	cmd := func(name, argsUsage string, flags func(*policyCmd, *flag.FlagSet), do func(*policyCmd, context.Context, []string) error) cli.Command {
		return cli.Command{Name: name, Run: func(ctx context.Context, args []string, streams cli.IO) error {
			return runCommand(ctx, prog, name, argsUsage, flags, do, args, streams)
		}}
	}
	etcd := func(c *policyCmd, fs *flag.FlagSet) { c.etcd.Register(fs) }
	return cli.Table{
		Commands: []cli.Command{
			cmd("check", "FILE...", (*policyCmd).checkFlags, (*policyCmd).check),
			cmd("apply", "FILE...", func(c *policyCmd, fs *flag.FlagSet) { c.checkFlags(fs); c.localFlags(fs); etcd(c, fs) }, (*policyCmd).apply),
			cmd("delete", "NAME...", func(c *policyCmd, fs *flag.FlagSet) { c.localFlags(fs); etcd(c, fs) }, (*policyCmd).delete),
			cmd("list", "", func(c *policyCmd, fs *flag.FlagSet) { c.localFlags(fs); etcd(c, fs) }, (*policyCmd).list),
			cmd("get", "NAME", etcd, (*policyCmd).get),
			cmd("sync", "", (*policyCmd).syncFlags, (*policyCmd).sync),
			{Name: "node", Run: func(ctx context.Context, args []string, streams cli.IO) error {
				return runNode(ctx, prog, args, streams)
			}},
			{Name: "version", Run: func(_ context.Context, _ []string, streams cli.IO) error {
				fmt.Fprintln(streams.Out, cliflags.PolicyBinary, version)
				return nil
			}},
			{Name: "help", Aliases: []string{"-h", "--help"}, Run: func(_ context.Context, _ []string, streams cli.IO) error {
				fmt.Fprintf(streams.Out, policyUsage, prog)
				return nil
			}},
		},
		Default: func(_ context.Context, args []string, streams cli.IO) error {
			if len(args) == 0 {
				fmt.Fprintf(streams.Out, policyUsage, prog)
				return cli.Usage(errors.New("no command"))
			}
			fmt.Fprintf(streams.Err, policyUsage, prog)
			return cli.Usage(fmt.Errorf("unknown command %q", args[0]))
		},
	}
}

// runCommand parses one command's flags (flags registers them) and arguments (argsUsage: "" for none,
// "NAME" for exactly one, "FILE..." or "NAME..." for at least one), then does it.
func runCommand(ctx context.Context, prog, name, argsUsage string, flags func(*policyCmd, *flag.FlagSet),
	do func(*policyCmd, context.Context, []string) error, args []string, streams cli.IO) error {
	c := &policyCmd{stdin: streams.In, stdout: streams.Out, stderr: streams.Err}
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(streams.Err)
	fs.BoolVar(&c.json, "json", false, "print JSON")
	flags(c, fs)
	fs.Usage = func() { // to stdout: --help is asked for; a parse error has gone to stderr before it
		fmt.Fprintf(streams.Out, "usage: %s %s [flags] %s\n", prog, name, argsUsage)
		fs.SetOutput(streams.Out)
		fs.PrintDefaults()
		fs.SetOutput(streams.Err)
	}
	if err := fs.Parse(args); err != nil {
		return cli.Usage(err)
	}
	if err := cliflags.ApplyEnv(fs); err != nil {
		return cli.Usage(err)
	}
	switch {
	case argsUsage == "" && fs.NArg() > 0:
		return cli.Usage(fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0)))
	case argsUsage == "NAME" && fs.NArg() != 1, argsUsage != "" && fs.NArg() == 0:
		fs.Usage()
		return cli.Usage(fmt.Errorf("%s: want %s", name, argsUsage))
	}
	if c.local && c.dir == "" {
		return cli.Usage(fmt.Errorf("%s --local: want --policy-dir", name))
	}
	if name == "sync" && c.dir == "" {
		return cli.Usage(errors.New("sync: want --policy-dir"))
	}
	return do(c, ctx, fs.Args())
}

func (c *policyCmd) syncFlags(fs *flag.FlagSet) {
	c.etcd.Register(fs)
	fs.StringVar(&c.dir, "policy-dir", "", "the agent's static policy directory (--static-cnp-path)")
	fs.StringVar(&c.node, "node-name", cliflags.DefaultNodeName(), "this node's name in the status keys")
	fs.StringVar(&c.cluster, "cluster-name", policy.DefaultCluster, "the agent's --cluster-name")
	fs.StringVar(&c.agentVersion, "agent-version", "", "the agent's version, reported in the node's status for `policy list`")
	fs.BoolVar(&c.reportState, "report", false, "print the sync's state as a JSON line on stdout after every pass and failure (for the plugin)")
	fs.BoolVar(&c.validate, "validate", false, "check the flags and the etcd configuration, then exit")
	fs.DurationVar(&c.gcInterval, "identity-gc-interval", cliflags.DefaultIdentityGCInterval,
		"between passes of Cilium's identity garbage collection (the elected node's; 0: this node takes no part)")
	fs.UintVar(&c.clusterID, "cluster-id", 0, "the agent's --cluster-id: the identity range the garbage collection keeps to")
}

func (c *policyCmd) checkFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.cluster, "cluster-name", policy.DefaultCluster, "the agent's --cluster-name, for the selectors Cilium rewrites")
	fs.BoolVar(&c.legacy, "legacy-selectors", false,
		"accept peer selectors that require the namespace or cluster label not to exist (for plugins run with --k8s-identity-labels=false)")
}

func (c *policyCmd) localFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.local, "local", false, "this node only: the agent's directory (--policy-dir), no etcd")
	fs.StringVar(&c.dir, "policy-dir", "", "the agent's static policy directory (--static-cnp-path), for --local")
}

func (c *policyCmd) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
