package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

const usage = `usage: testbed COMMAND [ARGS]     (scripts/testbed.sh COMMAND [ARGS] runs it, built when stale)

The test bed: real dockerd + cilium-agent (+ etcd on node 1) + the plugin per node, each node in its own
network namespace and private mount namespace, wired to a fabric bridge and an "outside" peer. It never
touches the host network namespace. As root.
  up NODE                 build node NODE (1-9; node 1 runs etcd and must be up first); prints its env
  down NODE               tear node NODE down (idempotent); the last node down also removes the fabric
  down-all                tear every node and the fabric down
  status                  one line per component; exit 3 when a daemon of an up node is dead
  env NODE                the node's state (NODE_DIR/node.json) as KEY=VALUE lines
  logs NODE [LINES]       tails of the node's etcd, agent, plugin and dockerd logs (default 60 lines)
  exec NODE|peer CMD...   run CMD in the node's net+mount namespaces, DOCKER_HOST set, docker = the 20.10
                          CLI, cilium = cilium-dbg talking to the node's agent; peer: the peer's netns
  stop|start|restart NODE DAEMON   DAEMON is etcd, agent, plugin or dockerd: stop by PID (SIGTERM, then
                          SIGKILL), start again with the same arguments and wait until it is healthy
  signal NODE DAEMON SIG  send SIG (STOP, CONT, KILL, ...) by the recorded PID
  pid NODE DAEMON         the PID of the running DAEMON (exit 1 when it does not run)
  replace-agent NODE VERSION  stop cilium-agent by PID, start cilium VERSION's (built when missing) with
                          the same state dir and flags, wait for health Ok; the env shows VERSION
  restart-plugin NODE, restart-agent NODE, stop-agent NODE, start-agent NODE, restart-dockerd NODE
  stack NODE DIR PKI ETCD_IPS [KEY=VALUE...]  node NODE's compose project in DIR: a copy of compose/ with
                          the .env compose/README.md asks for (the node's name, address, device, range
                          and agent version; the etcd members at ETCD_IPS, comma-separated; the
                          certificates in PKI; KEY=VALUE adds or overrides); prints the .env

Layout: 192.168.77.0/24 on bridge br0 in netns cdfab; cdpeer = 192.168.77.1 (every node's gateway);
node N = netns cdnodeN, eth0 192.168.77.(1+N), pods 10.7N.0.0/16; etcd at 192.168.77.2:2379. With
AGENT_IPV6=1 also fd00:77::/64 (peer fd00:77::1, node N fd00:77::(1+N)), pods fd00:7N::/96.

The bed's environment:
  TESTBED_ID ([a-z0-9]{1,8}: a second bed on the host, a prefix of its netns, cgroups and state dir),
  TESTBED_DIR (default /tmp/[ID-]cdtb), CILIUM_DOCKER_CACHE (or XDG_CACHE_HOME), STOP_TIMEOUT (20 s).
up's, each one given is pinned (a node up with another one: exit 4, down it first):
  DOCKER_VERSION, CILIUM_VERSION (default: the matrix's current pair), AGENT_IPV6 (0 or 1),
  AGENT_API_LIMITS (stack: the stack's raised limits, the default; agent: the agent's own defaults);
and not pinned: PLUGIN_MODE (process, the default; none: no legacy plugin, for a managed one; stack:
only dockerd, in a node with a /run of its own, for the compose stack), PLUGIN_BIN (default
bin/cilium-docker), PLUGIN_ARGS, PLUGIN_METRICS_ADDRESS (127.0.0.1:9962), PLUGIN_RECONCILE_INTERVAL
(20s), PLUGIN_POLICY_SYNC (1), PLUGIN_IDENTITY_GC_INTERVAL (10s) (set but empty: without the flag),
AGENT_ARGS, AGENT_CONFIG_DIR (compose/agent-config), DOCKERD_LOG_LEVEL (debug), TESTBED_KEEP_ON_FAIL=1,
TESTBED_PURGE=1 (down deletes the node directory), AGENT_TIMEOUT DOCKERD_TIMEOUT PLUGIN_TIMEOUT
ETCD_TIMEOUT (seconds).

The test matrix (internal/matrix), one value a line:
  legs                 the legs, in the order scripts/e2e.sh runs them
  run-filter LEG       go test's -run pattern for the leg: exactly its tests
  tests LEG            the leg's tests, one a line
  agents [LEG]         the cilium-agents a bed of LEG needs (its own, and the upgrade's); no LEG: every
                       agent of the matrix
  version NAME         docker, docker-debian, cilium, cilium-previous, upgrade-to, etcd or compose
  long-test            the test that runs on a bed of its own, and its leg: NAME LEG

The end-to-end tier (scripts/e2e.sh, make test-e2e; testbed e2e --help):
  e2e [--build] [LEG...]  each leg's e2e tests on a fresh bed, the long test alongside, a summary

Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 status: a dead daemon, 4 up: other settings.
`

// commands is the command table.
func commands() cli.Table {
	return cli.Table{
		Commands: append([]cli.Command{
			{Name: "legs", Run: args(0, 0, legs)},
			{Name: "run-filter", Run: args(1, 1, runFilter)},
			{Name: "tests", Run: args(1, 1, tests)},
			{Name: "agents", Run: args(0, 1, agents)},
			{Name: "version", Run: args(1, 1, version)},
			{Name: "long-test", Run: args(0, 0, longTest)},
			{Name: "e2e", Run: e2e},
			{Name: "help", Aliases: []string{"-h", "--help"}, Run: func(_ context.Context, _ []string, s cli.IO) error {
				fmt.Fprint(s.Out, usage)
				return nil
			}},
		}, append(bedVerbs(), insideVerbs()...)...),
		Default: func(_ context.Context, a []string, s cli.IO) error {
			fmt.Fprint(s.Err, usage)
			if len(a) == 0 {
				return cli.Usage(errors.New("no command"))
			}
			return cli.Usage(fmt.Errorf("unknown command %q", a[0]))
		},
	}
}

func run(ctx context.Context, a []string, streams cli.IO) error {
	return commands().Dispatch(ctx, a, streams)
}

// args wraps a verb that takes min to max arguments and no flag (but --help).
func args(minN, maxN int, verb func(a []string, out io.Writer) error) func(context.Context, []string, cli.IO) error {
	return func(_ context.Context, a []string, s cli.IO) error {
		fs := flag.NewFlagSet("testbed", flag.ContinueOnError)
		fs.SetOutput(s.Err)
		fs.Usage = func() { fmt.Fprint(s.Err, usage) }
		if err := fs.Parse(a); err != nil {
			return cli.Usage(err)
		}
		if n := fs.NArg(); n < minN || n > maxN {
			fs.Usage()
			return cli.Usage(fmt.Errorf("want %d to %d arguments, got %d", minN, maxN, n))
		}
		return verb(fs.Args(), s.Out)
	}
}

func lines(out io.Writer, values []string) error {
	_, err := fmt.Fprintln(out, strings.Join(values, "\n"))
	return err
}

func legs(_ []string, out io.Writer) error {
	var names []string
	for _, l := range matrix.Legs() {
		names = append(names, l.Name())
	}
	return lines(out, names)
}

func runFilter(a []string, out io.Writer) error {
	p, err := matrix.RunPattern(a[0])
	if err != nil {
		return err
	}
	return lines(out, []string{p})
}

func tests(a []string, out io.Writer) error {
	names, err := matrix.TestsOn(a[0])
	if err != nil {
		return err
	}
	return lines(out, names)
}

func agents(a []string, out io.Writer) error {
	if len(a) == 0 {
		return lines(out, matrix.Agents())
	}
	v, err := matrix.AgentsOf(a[0])
	if err != nil {
		return err
	}
	return lines(out, v)
}

func version(a []string, out io.Writer) error {
	v, ok := map[string]string{
		"docker":          matrix.DockerCurrent,
		"docker-debian":   matrix.DockerDebian,
		"cilium":          matrix.CiliumCurrent,
		"cilium-previous": matrix.CiliumPrevious,
		"upgrade-to":      matrix.UpgradeTo,
		"etcd":            matrix.Etcd,
		"compose":         matrix.Compose,
	}[a[0]]
	if !ok {
		return cli.Usage(fmt.Errorf("version %q: want docker, docker-debian, cilium, cilium-previous, upgrade-to, etcd or compose", a[0]))
	}
	return lines(out, []string{v})
}

func longTest(_ []string, out io.Writer) error {
	name, leg, err := matrix.LongTest()
	if err != nil {
		return err
	}
	return lines(out, []string{name + " " + leg})
}
