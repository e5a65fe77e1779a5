package status

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/cilium/pkg/command"
	"github.com/cilium/cilium/pkg/rate"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/metrics"
)

// The agent's API rate limits are a flag of its REST API cell, not part of GET /config: status reads
// them where the agent reads them, from the process that listens on the agent's socket.

// agentCreateDefaults are cilium-agent's own endpoint-create limits, those of an agent run without
// --api-rate-limit (daemon/restapi/api_limits.go, the same in 1.19 and 1.20).
var agentCreateDefaults = rate.APILimiterParameters{
	AutoAdjust: true, EstimatedProcessingDuration: 2 * time.Second, RateLimit: 0.5, RateBurst: 4,
	ParallelRequests: 4, MinParallelRequests: 2, SkipInitial: 4, MaxWaitDuration: 60 * time.Second,
}

// raiseLimits is the stack's setting (compose/agent-config/api-rate-limit), offered as the remedy.
const raiseLimits = "rate-limit:20/s,rate-burst:40,parallel-requests:8,max-parallel-requests:16,max-wait-duration:120s"

// agentLimits is the agent's endpoint-create limit and where it came from.
type agentLimits struct {
	create rate.APILimiterParameters
	source string
}

// readAgentLimits finds the agent's process by the socket's peer credentials and reads the
// --api-rate-limit it runs with: from its command line, else its environment (CILIUM_API_RATE_LIMIT),
// else its --config-dir (read through the process's root), else it runs with the defaults.
func readAgentLimits(ctx context.Context, proc, socket string) (agentLimits, error) {
	pid, err := socketPeer(ctx, socket)
	if err != nil {
		return agentLimits{}, err
	}
	dir := filepath.Join(proc, fmt.Sprint(pid))
	argv, err := nulList(filepath.Join(dir, "cmdline"))
	if err != nil {
		return agentLimits{}, fmt.Errorf("the agent's command line: %w", err)
	}
	value, source := flagValue(argv, "api-rate-limit"), "its --api-rate-limit"
	if value == "" {
		env, err := nulList(filepath.Join(dir, "environ"))
		if err != nil {
			return agentLimits{}, fmt.Errorf("the agent's environment: %w", err)
		}
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "CILIUM_API_RATE_LIMIT="); ok {
				value, source = v, "its CILIUM_API_RATE_LIMIT"
			}
		}
	}
	if confdir := flagValue(argv, "config-dir"); value == "" && confdir != "" {
		b, err := os.ReadFile(filepath.Join(dir, "root", confdir, "api-rate-limit"))
		switch {
		case err == nil:
			value, source = strings.TrimSpace(string(b)), "its --config-dir "+confdir
		case !errors.Is(err, os.ErrNotExist):
			return agentLimits{}, fmt.Errorf("the agent's --config-dir: %w", err)
		}
	}
	if value == "" {
		return agentLimits{create: agentCreateDefaults, source: "the agent's defaults: no --api-rate-limit"}, nil
	}
	return parseAgentLimits(value, source)
}

// parseAgentLimits applies an --api-rate-limit value to the defaults with Cilium's own parsers.
func parseAgentLimits(value, source string) (agentLimits, error) {
	m, err := command.ToStringMapStringE(value)
	if err != nil {
		return agentLimits{}, fmt.Errorf("--api-rate-limit %q (%s): %w", value, source, err)
	}
	l := agentLimits{create: agentCreateDefaults, source: source}
	if v, ok := m["endpoint-create"]; ok {
		if l.create, err = agentCreateDefaults.MergeUserConfig(v); err != nil {
			return agentLimits{}, fmt.Errorf("--api-rate-limit endpoint-create=%q (%s): %w", v, source, err)
		}
	} else {
		l.source += ", without endpoint-create: the defaults"
	}
	return l, nil
}

// short says what the limit allows, in the words of its flag.
func (l agentLimits) short() string {
	c := l.create
	return fmt.Sprintf("endpoint-create %g/s, burst %d, %d in parallel, waits up to %s (%s)",
		float64(c.RateLimit), c.RateBurst, c.ParallelRequests, c.MaxWaitDuration, l.source)
}

// below says how the limit falls short of a plugin that sends up to parallel creates at once, each of
// which may take a second or more: "" when it does not.
func (l agentLimits) below(parallel int) string {
	c := l.create
	var short []string
	if float64(c.RateLimit) < float64(parallel) {
		short = append(short, fmt.Sprintf("%g creates/s", float64(c.RateLimit)))
	}
	if c.RateBurst < parallel {
		short = append(short, fmt.Sprintf("a burst of %d", c.RateBurst))
	}
	if c.ParallelRequests < parallel {
		short = append(short, fmt.Sprintf("%d in parallel", c.ParallelRequests))
	}
	if len(short) == 0 {
		return ""
	}
	return fmt.Sprintf("%s, below the plugin's %d creates at once", strings.Join(short, ", "), parallel)
}

// limitsCheck reports the agent's endpoint-create limits, warning when they are below what the plugin
// sends (its agent_parallel_creates, else the default).
func (c *Checker) limitsCheck(r *Report, l agentLimits, err error, plugin samples) {
	const name = "Agent API limits"
	if err != nil {
		r.add(name, Unknown, "run status as root on the node, where it sees the agent's process", "not read: %v", err)
		return
	}
	parallel := agent.DefaultTimeouts.ParallelCreates
	if v, ok := plugin.sum(metrics.FullName(metrics.AgentParallelCreates)); ok && v >= 1 {
		parallel = int(v)
	}
	if why := l.below(parallel); why != "" {
		r.add(name, Warning, "raise them: cilium-agent --api-rate-limit endpoint-create="+raiseLimits+
			" (as the stack's compose/agent-config/api-rate-limit); until then a burst of starts queues in the plugin and at the agent",
			"%s: %s", l.short(), why)
		return
	}
	r.add(name, OK, "", "%s", l.short())
}

// socketPeer returns the PID of the process listening on a unix socket (SO_PEERCRED); 0, an error,
// when that process is in a PID namespace this one does not see.
func socketPeer(ctx context.Context, socket string) (int, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, "unix", socket)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, fmt.Errorf("the agent socket's peer: %w", cerr)
	}
	if cred.Pid == 0 {
		return 0, fmt.Errorf("the agent runs in a PID namespace this one does not see")
	}
	return int(cred.Pid), nil
}

// nulList reads a /proc file of NUL-terminated strings.
func nulList(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), nil
}

// flagValue returns the value of --name (or -name) in argv, given as "--name=v" or "--name v"; the last wins.
func flagValue(argv []string, name string) string {
	v := ""
	for i, a := range argv {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if rest, ok := strings.CutPrefix(a, name+"="); ok {
			v = rest
		} else if a == name && i+1 < len(argv) {
			v = argv[i+1]
		}
	}
	return v
}
