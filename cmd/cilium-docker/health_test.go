package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/metrics"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// TestHealthy runs the plugin's health check over its real inputs: a plugin socket that answers, is
// missing, or is a stale file nobody answers on; an agent that answers, is down, fails, or hangs.
func TestHealthy(t *testing.T) {
	type socketState int
	const (
		serving socketState = iota
		missing
		stale
	)
	tests := []struct {
		name    string
		socket  socketState
		agent   func(a *agenttest.Agent) // changes the running fake agent; nil: it answers
		down    bool                     // the agent is not running
		wantErr string                   // "" = healthy; else the error's start
	}{
		{name: "socket serves, agent answers"},
		{name: "socket missing", socket: missing, wantErr: "plugin socket: "},
		{name: "stale socket file", socket: stale, wantErr: "plugin socket: "},
		{name: "agent down", down: true, wantErr: "agent: "},
		{name: "agent fails its config", wantErr: "agent: ", agent: func(a *agenttest.Agent) {
			a.SetFault(agenttest.RouteConfig, agenttest.Fault{Status: http.StatusInternalServerError, Body: `"boom"`})
		}},
		{name: "agent hangs", wantErr: "agent: ", agent: func(a *agenttest.Agent) {
			a.SetFault(agenttest.RouteConfig, agenttest.Fault{Hang: true})
		}},
		{name: "socket missing and agent down: the socket is named", socket: missing, down: true, wantErr: "plugin socket: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := servertest.ShortDir(t)
			sock := filepath.Join(dir, "cilium.sock")
			switch tt.socket {
			case serving:
				l, err := net.Listen("unix", sock)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
			case stale:
				l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
				if err != nil {
					t.Fatal(err)
				}
				l.SetUnlinkOnClose(false)
				l.Close()
				if _, err := os.Lstat(sock); err != nil {
					t.Fatalf("stale socket file: %v", err)
				}
			}
			var a *agenttest.Agent
			if tt.down {
				a = agenttest.NewStopped(t)
			} else {
				a = agenttest.New(t)
			}
			if tt.agent != nil {
				tt.agent(a)
			}
			ac, err := agent.New(a.Addr(), agent.Timeouts{Call: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err = healthy(ctx, sock, ac)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("healthy: got %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Errorf("healthy: got %v, want an error starting %q", err, tt.wantErr)
			case tt.wantErr != "":
				// /healthz shows the part alone; it must be the one the error starts with.
				if he, ok := errors.AsType[*metrics.HealthError](err); !ok || he.Part+": " != tt.wantErr {
					t.Errorf("healthy: %v names the part %+v, want %q", err, he, strings.TrimSuffix(tt.wantErr, ": "))
				}
			}
			if ctx.Err() != nil {
				t.Errorf("healthy outlived its 2s context: the agent call has no deadline of its own")
			}
		})
	}
}

// healthz sends GET /healthz to the metrics socket at path.
func healthz(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := servertest.Client(path).Get("http://metrics/healthz")
	if err != nil {
		t.Errorf("GET /healthz: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("GET /healthz: %v", err)
	}
	return resp.StatusCode, string(b)
}

// startWithMetrics starts the plugin with its metrics on a unix socket and waits for that socket.
func startWithMetrics(t *testing.T, a *agenttest.Agent) (*started, string) {
	t.Helper()
	msock := filepath.Join(servertest.ShortDir(t), "metrics.sock")
	p := start(t, "--cilium-api", a.Addr(), "--metrics-address", "unix://"+msock, "--reconcile-interval", "0")
	testkit.Eventually(t, 5*time.Second, "the metrics socket", func() error { return isSocket(msock) })
	return p, msock
}

// TestHealthzNamesNoPath: /healthz of a plugin whose agent is down says which part is unhealthy in
// fixed words: no socket path, no agent URL, no error text; the log has the detail, once.
func TestHealthzNamesNoPath(t *testing.T) {
	a := agenttest.NewStopped(t)
	p, msock := startWithMetrics(t, a)
	for range 3 {
		code, body := healthz(t, msock)
		if code != http.StatusServiceUnavailable || body != "unhealthy: agent\n" {
			t.Errorf("/healthz with the agent down: got %d %q, want 503 %q", code, body, "unhealthy: agent\n")
		}
		for _, secret := range []string{a.Path(), "not reachable", "unix://", "dial"} {
			if strings.Contains(body, secret) {
				t.Errorf("/healthz body %q contains %q", body, secret)
			}
		}
	}
	if err := p.stop(t); err != nil {
		t.Errorf("run: %v", err)
	}
	if n := strings.Count(p.stderr.String(), "cilium-agent not reachable at "+a.Addr()); n != 1 {
		t.Errorf("the log has the agent's error %d times, want once:\n%s", n, p.stderr.String())
	}
}

// TestHealthzSharesOneAgentCall: concurrent /healthz requests within a second make one agent call.
func TestHealthzSharesOneAgentCall(t *testing.T) {
	a := agenttest.New(t)
	// A slow answer: every request of the burst arrives while the first check is still waiting for it.
	a.SetFault(agenttest.RouteConfig, agenttest.Fault{Latency: 300 * time.Millisecond})
	p, msock := startWithMetrics(t, a)
	before := len(a.RequestsTo(agenttest.RouteConfig))
	const n = 20
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		wg.Go(func() {
			var code int
			code, bodies[i] = healthz(t, msock)
			if code != http.StatusOK {
				t.Errorf("/healthz %d: got %d %q, want 200", i, code, bodies[i])
			}
		})
	}
	wg.Wait()
	if got := len(a.RequestsTo(agenttest.RouteConfig)) - before; got != 1 {
		t.Errorf("%d concurrent /healthz made %d agent calls, want 1", n, got)
	}
	for i, b := range bodies {
		if b != "ok\n" {
			t.Errorf("/healthz %d: body %q, want %q", i, b, "ok\n")
		}
	}
	if err := p.stop(t); err != nil {
		t.Errorf("run: %v", err)
	}
}

// TestRunRefusesMetricsPath: a file at the metrics socket's path that is not a stale socket fails the
// start and is left as it was.
func TestRunRefusesMetricsPath(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr string
	}{
		{name: "regular file", wantErr: "it is not a socket", prepare: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "symlink", wantErr: "it is a symlink", prepare: func(t *testing.T, path string) {
			if err := os.WriteFile(path+".target", []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(path+".target", path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agenttest.NewStopped(t)
			dir := servertest.ShortDir(t)
			msock := filepath.Join(dir, "metrics.sock")
			tt.prepare(t, msock)
			before, err := os.Lstat(msock)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				errc <- run(ctx, []string{"--docker-plugins", dir, "--docker-host-path", "unix://" + dir + "/docker.sock",
					"--cilium-api", a.Addr(), "--metrics-address", "unix://" + msock, "--reconcile-interval", "0"}, cli.IO{Out: io.Discard, Err: io.Discard})
			}()
			var rerr error
			select {
			case rerr = <-errc:
			case <-time.After(3 * time.Second):
				cancel()
				rerr = <-errc
				t.Errorf("run started (returned %v after its context ended), want the start refused", rerr)
			}
			if rerr == nil || !strings.Contains(rerr.Error(), "--metrics-address") || !strings.Contains(rerr.Error(), tt.wantErr) ||
				!strings.Contains(rerr.Error(), msock) {
				t.Errorf("run: got %v, want a --metrics-address error naming %s and saying %q", rerr, msock, tt.wantErr)
			}
			after, err := os.Lstat(msock)
			if err != nil || !os.SameFile(before, after) || before.Mode() != after.Mode() {
				t.Errorf("%s after the start: %v, %v; want it left as it was (%s)", msock, after, err, before.Mode())
			}
			if b, err := os.ReadFile(msock); err != nil || string(b) != "keep" {
				t.Errorf("%s: got %q, %v; want keep", msock, b, err)
			}
			if _, err := os.Lstat(filepath.Join(dir, "cilium.sock")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the plugin socket was created before the refusal: %v", err)
			}
		})
	}
}

// TestHealthCommand runs `cilium-docker health` (the compose healthcheck) as the binary would: exit 0 and
// "ok" with a socket that accepts and an agent that answers, exit 1 naming the part that failed, within
// its --timeout when the agent hangs, exit 2 for a command line it cannot run; the flags come from the
// environment as in the plugin's container.
func TestHealthCommand(t *testing.T) {
	tests := []struct {
		name     string
		noSocket bool
		agent    func(a *agenttest.Agent)
		down     bool
		args     []string // after health --cilium-api A --docker-plugins D
		env      bool     // give --cilium-api and --docker-plugins as CILIUM_DOCKER_… instead
		wantCode int
		wantErr  string // in the error; "" for exit 0
	}{
		{name: "healthy", wantCode: 0},
		{name: "healthy, flags from the environment", env: true, wantCode: 0},
		{name: "no plugin socket", noSocket: true, wantCode: 1, wantErr: "health: unhealthy: plugin socket: "},
		{name: "agent down", down: true, wantCode: 1, wantErr: "health: unhealthy: agent: "},
		{name: "agent hangs: the deadline", args: []string{"--timeout", "300ms"}, wantCode: 1, wantErr: "health: unhealthy: agent: ",
			agent: func(a *agenttest.Agent) { a.SetFault(agenttest.RouteConfig, agenttest.Fault{Hang: true}) }},
		{name: "extra argument", args: []string{"now"}, wantCode: 2, wantErr: `unexpected argument "now"`},
		{name: "unknown flag", args: []string{"--frobnicate"}, wantCode: 2, wantErr: "frobnicate"},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantCode: 1, wantErr: "--timeout 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := servertest.ShortDir(t)
			if !tt.noSocket {
				l, err := net.Listen("unix", filepath.Join(dir, socketName))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
			}
			var a *agenttest.Agent
			if tt.down {
				a = agenttest.NewStopped(t)
			} else {
				a = agenttest.New(t)
			}
			if tt.agent != nil {
				tt.agent(a)
			}
			args := []string{"health"}
			if tt.env {
				t.Setenv("CILIUM_DOCKER_CILIUM_API", a.Addr())
				t.Setenv("CILIUM_DOCKER_DOCKER_PLUGINS", dir)
			} else {
				args = append(args, "--cilium-api", a.Addr(), "--docker-plugins", dir)
			}
			args = append(args, tt.args...)
			var out strings.Builder
			t0 := time.Now()
			err := run(context.Background(), args, cli.IO{Out: &out, Err: io.Discard})
			if took := time.Since(t0); took > 2*time.Second {
				t.Errorf("health took %v, want it within its deadline (3s default, 300ms here)", took)
			}
			code, _ := cli.ExitCode(err)
			if code != tt.wantCode {
				t.Errorf("%q: exit %d (%v), want %d", args, code, err, tt.wantCode)
			}
			switch {
			case tt.wantErr == "" && (err != nil || out.String() != "ok\n"):
				t.Errorf("health: %v, output %q; want nil and %q", err, out.String(), "ok\n")
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("health: %v, want an error containing %q", err, tt.wantErr)
			case tt.wantErr != "" && out.Len() > 0:
				t.Errorf("health failed but printed %q", out.String())
			}
		})
	}
}
