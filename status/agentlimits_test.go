package status_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/status"
)

// fakeAgentProcess listens on an agent socket (this process is then its peer) and writes a /proc of
// this process's PID with argv, environ and, when limits is not empty, the api-rate-limit of the
// --config-dir under its root. It returns the socket and the /proc.
func fakeAgentProcess(t *testing.T, argv, environ []string, limits string) (socket, proc string) {
	t.Helper()
	dir := t.TempDir()
	socket = filepath.Join(dir, "cilium.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	proc = filepath.Join(dir, "proc")
	p := filepath.Join(proc, strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(filepath.Join(p, "root", "etc", "agent-config"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, list := range map[string][]string{"cmdline": argv, "environ": environ} {
		if err := os.WriteFile(filepath.Join(p, name), []byte(strings.Join(list, "\x00")+"\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if limits != "" {
		if err := os.WriteFile(filepath.Join(p, "root", "etc", "agent-config", "api-rate-limit"), []byte(limits+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return socket, proc
}

// The stack's own file (compose/agent-config/api-rate-limit).
const stackLimits = `{"endpoint-create":"rate-limit:20/s,rate-burst:40,parallel-requests:8,max-parallel-requests:16,max-wait-duration:120s","endpoint-list":"rate-limit:10/s"}`

// TestAgentAPILimits: status reads the agent's endpoint-create limits where the agent reads them, from
// the process listening on its socket (command line, then environment, then --config-dir), and warns,
// with the flag that raises them, when they are below the plugin's parallel creates.
func TestAgentAPILimits(t *testing.T) {
	agentArgv := func(extra ...string) []string {
		return append([]string{"/usr/bin/cilium-agent", "--config-dir=/etc/agent-config", "--devices", "eth0"}, extra...)
	}
	tests := []struct {
		name    string
		argv    []string
		environ []string
		file    string
		state   status.State
		want    []string
	}{
		{"the stack's --config-dir file", agentArgv(), nil, stackLimits, status.OK,
			[]string{"endpoint-create 20/s, burst 40, 8 in parallel, waits up to 2m0s (its --config-dir /etc/agent-config)"}},
		{"no limits anywhere: the agent's defaults", agentArgv(), []string{"PATH=/bin"}, "", status.Warning,
			[]string{"endpoint-create 0.5/s, burst 4, 4 in parallel, waits up to 1m0s (the agent's defaults: no --api-rate-limit)",
				"0.5 creates/s, below the plugin's 4 creates at once", "--api-rate-limit endpoint-create=rate-limit:20/s"}},
		{"the command line wins over the file", agentArgv("--api-rate-limit", "endpoint-create=rate-limit:2/s,rate-burst:2,parallel-requests:2"),
			nil, stackLimits, status.Warning,
			[]string{"endpoint-create 2/s, burst 2, 2 in parallel", "2 creates/s, a burst of 2, 2 in parallel, below the plugin's 4 creates at once"}},
		{"the environment wins over the file", agentArgv(), []string{"CILIUM_API_RATE_LIMIT=endpoint-create=rate-limit:8/s,rate-burst:8,parallel-requests:4"},
			stackLimits, status.OK, []string{"endpoint-create 8/s, burst 8, 4 in parallel, waits up to 1m0s (its CILIUM_API_RATE_LIMIT)"}},
		{"limits without endpoint-create", agentArgv(`--api-rate-limit={"endpoint-list":"rate-limit:10/s"}`), nil, "", status.Warning,
			[]string{"(its --api-rate-limit, without endpoint-create: the defaults)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, a, d := healthyNode(t)
			cfg.AgentSocket, cfg.Proc = fakeAgentProcess(t, tt.argv, tt.environ, tt.file)
			r, out := check(t, cfg, a, d, 5*time.Second)
			state, detail := checkOf(r, "Agent API limits")
			if state != tt.state {
				t.Errorf("Agent API limits: %s, want %s:\n%s", state, tt.state, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q (detail %q):\n%s", w, detail, out)
				}
			}
		})
	}
	t.Run("an agent this process cannot see: unknown, saying why", func(t *testing.T) {
		cfg, a, d := healthyNode(t)
		cfg.AgentSocket, _ = fakeAgentProcess(t, agentArgv(), nil, "")
		cfg.Proc = t.TempDir() // no process there
		r, out := check(t, cfg, a, d, 5*time.Second)
		if state, detail := checkOf(r, "Agent API limits"); state != status.Unknown || !strings.Contains(detail, "command line") {
			t.Errorf("Agent API limits: %s %q, want unknown, the command line not read:\n%s", state, detail, out)
		}
	})
}

func checkOf(r *status.Report, name string) (status.State, string) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c.State, c.Detail
		}
	}
	return "", ""
}
