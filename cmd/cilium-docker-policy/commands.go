package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/policy"
)

// version is set at build time with -ldflags "-X main.version=...", as the plugin's.
var version = "dev"

// progName is how the user called the commands, for usage and errors.
func progName(argv0 string) string {
	if argv0 == cliflags.PolicyViaPlugin {
		return cliflags.PolicyViaPlugin
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
  version

Run '%[1]s COMMAND --help' for a command's flags. Exit codes: 0 ok, 1 refused or failed, 2 usage.
`

// usageError is a command line the command cannot run: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// refusedError is input the command refused (a bad policy): exit code 1, already reported.
type refusedError struct{ n int }

func (e *refusedError) Error() string { return fmt.Sprintf("%d refused", e.n) }

// exitCode maps run's error to the process's exit code.
func exitCode(err error) int {
	var u *usageError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

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
}

// run runs one policy command; prog is how the user called it (progName).
func run(ctx context.Context, prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stdout, policyUsage, prog)
		if len(args) == 0 {
			return &usageError{errors.New("no command")}
		}
		return nil
	}
	if args[0] == "version" {
		fmt.Fprintln(stdout, cliflags.PolicyBinary, version)
		return nil
	}
	c := &policyCmd{stdin: stdin, stdout: stdout, stderr: stderr}
	name, args := args[0], args[1:]
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&c.json, "json", false, "print JSON")
	var do func(context.Context, []string) error
	var argsUsage string
	switch name {
	case "check":
		c.checkFlags(fs)
		do, argsUsage = c.check, "FILE..."
	case "apply":
		c.checkFlags(fs)
		c.localFlags(fs)
		c.etcd.Register(fs)
		do, argsUsage = c.apply, "FILE..."
	case "delete":
		c.localFlags(fs)
		c.etcd.Register(fs)
		do, argsUsage = c.delete, "NAME..."
	case "list":
		c.localFlags(fs)
		c.etcd.Register(fs)
		do = c.list
	case "get":
		c.etcd.Register(fs)
		do, argsUsage = c.get, "NAME"
	case "sync":
		c.etcd.Register(fs)
		fs.StringVar(&c.dir, "policy-dir", "", "the agent's static policy directory (--static-cnp-path)")
		fs.StringVar(&c.node, "node-name", cliflags.DefaultNodeName(), "this node's name in the status keys")
		fs.StringVar(&c.cluster, "cluster-name", policy.DefaultCluster, "the agent's --cluster-name")
		fs.StringVar(&c.agentVersion, "agent-version", "", "the agent's version, reported in the node's status for `policy list`")
		fs.BoolVar(&c.reportState, "report", false, "print the sync's state as a JSON line on stdout after every pass and failure (for the plugin)")
		fs.BoolVar(&c.validate, "validate", false, "check the flags and the etcd configuration, then exit")
		do = c.sync
	default:
		fmt.Fprintf(stderr, policyUsage, prog)
		return &usageError{fmt.Errorf("unknown command %q", name)}
	}
	fs.Usage = func() { // to stdout: --help is asked for; a parse error has gone to stderr before it
		fmt.Fprintf(stdout, "usage: %s %s [flags] %s\n", prog, name, argsUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err}
	}
	if err := cliflags.ApplyEnv(fs); err != nil {
		return &usageError{err}
	}
	switch {
	case argsUsage == "" && fs.NArg() > 0:
		return &usageError{fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))}
	case argsUsage == "NAME" && fs.NArg() != 1, argsUsage != "" && fs.NArg() == 0:
		fs.Usage()
		return &usageError{fmt.Errorf("%s: want %s", name, argsUsage)}
	}
	if c.local && c.dir == "" {
		return &usageError{fmt.Errorf("%s --local: want --policy-dir", name)}
	}
	if name == "sync" && c.dir == "" {
		return &usageError{errors.New("sync: want --policy-dir")}
	}
	return do(ctx, fs.Args())
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
