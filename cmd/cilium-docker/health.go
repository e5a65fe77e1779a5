package main

import (
	"context"
	"net"

	"github.com/cilium-docker/cilium-docker/agent"
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
