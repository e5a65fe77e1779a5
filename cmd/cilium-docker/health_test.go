package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/agent/agenttest"
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
			}
			if ctx.Err() != nil {
				t.Errorf("healthy outlived its 2s context: the agent call has no deadline of its own")
			}
		})
	}
}
