package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/metrics"
)

// healthy reports whether the plugin socket accepts connections and the agent answers; its error names
// the part that failed (/healthz shows that part only).
func healthy(ctx context.Context, socket string, ac *agent.Client) error {
	conn, err := (&net.Dialer{}).DialContext(ctx, "unix", socket)
	if err != nil {
		return &metrics.HealthError{Part: "plugin socket", Err: err}
	}
	conn.Close()
	if _, err := ac.Config(ctx); err != nil {
		return &metrics.HealthError{Part: "agent", Err: err}
	}
	return nil
}

// healthTimeout is `health`'s default deadline: below the compose healthcheck's timeout (5s), so the
// command reports which part failed before Docker kills it.
const healthTimeout = 3 * time.Second

// runHealth is `cilium-docker health`, the compose service's healthcheck: exit 0 and "ok" when the
// plugin socket accepts a connection and the agent answers (healthy, what /healthz checks), else exit
// 1 naming the part that failed, all within --timeout. It reads the same --cilium-api and
// --docker-plugins (and CILIUM_DOCKER_… variables) as the plugin.
func runHealth(ctx context.Context, args []string, streams cli.IO) error {
	fs := flag.NewFlagSet("cilium-docker health", flag.ContinueOnError)
	api := fs.String("cilium-api", "unix:///var/run/cilium/cilium.sock", "cilium-agent API address")
	pluginDir := fs.String("docker-plugins", "/run/docker/plugins", "directory of Docker's plugin sockets (the plugin's is "+socketName+")")
	timeout := fs.Duration("timeout", healthTimeout, "deadline of the whole check")
	rest, err := parseCommand(fs, args, streams.Err)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return cli.Usage(fmt.Errorf("health: unexpected argument %q", rest[0]))
	}
	if err := validTimeout(*timeout); err != nil {
		return err
	}
	ac, err := agent.New(*api, agent.Timeouts{Call: *timeout})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := healthy(ctx, filepath.Join(*pluginDir, socketName), ac); err != nil {
		return fmt.Errorf("health: unhealthy: %w", err)
	}
	_, err = fmt.Fprintln(streams.Out, "ok")
	return err
}
