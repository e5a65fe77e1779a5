package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/hubble"
	"github.com/cilium-docker/cilium-docker/metrics"
	"github.com/cilium-docker/cilium-docker/reconcile"
	"github.com/cilium-docker/cilium-docker/status"
)

// reconcileStaleAfter is how old the reconciler's last pass may be before status flags it.
const reconcileStaleAfter = 5 * time.Minute

// reconcilerStats is what the plugin publishes of its reconciler on /metrics, for status to read.
func reconcilerStats(gc *reconcile.Reconciler) func() metrics.ReconcilerStats {
	return func() metrics.ReconcilerStats {
		s := gc.Stats()
		return metrics.ReconcilerStats{Passes: s.Passes, Incomplete: s.Incomplete, Endpoints: s.Endpoints, Links: s.Links,
			Addresses: s.Addresses, Ports: s.Ports, Failures: s.Failures, PortsRepaired: s.PortsRepaired, LastPass: s.LastPass, LastComplete: s.LastComplete}
	}
}

// runStatus is `cilium-docker status`: exit 0 when healthy, else an error (exit 1) saying how many
// findings need attention, which the output lists with hints; exit 2 for a usage error.
func runStatus(ctx context.Context, args []string, streams cli.IO) error {
	stdout := streams.Out
	var f commonFlags
	fs := flag.NewFlagSet("cilium-docker status", flag.ContinueOnError)
	f.register(fs, 5*time.Second)
	fs.StringVar(&f.MetricsAddress, "metrics-address", "", "the plugin's --metrics-address, to read its own state (reconciler, policy sync)")
	driverName := fs.String("driver-name", defaultDriverName, "the plugin's --driver-name (a managed plugin's name, e.g. cilium-docker:latest)")
	rest, err := parseCommand(fs, args, streams.Err)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return cli.Usage(fmt.Errorf("status: unexpected argument %q", rest[0]))
	}
	if err := validTimeout(f.Timeout); err != nil {
		return err
	}
	ac, err := agent.New(f.CiliumAPI, agent.Timeouts{Call: f.Timeout})
	if err != nil {
		return err
	}
	dc, err := dockerapi.New(f.DockerHost, f.Timeout)
	if err != nil {
		return err
	}
	defer dc.Close()
	var hc status.Hubble
	if path, err := f.hubbleSocket(); err == nil {
		h, err := hubble.New(path, f.Timeout)
		if err != nil {
			return err
		}
		defer h.Close()
		hc = h
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	r := status.New(status.Config{Socket: filepath.Join(f.PluginDir, socketName), Driver: *driverName,
		MetricsAddress: f.MetricsAddress, StaleAfter: reconcileStaleAfter, AgentSocket: unixPath(f.CiliumAPI)}, ac, dc, hc).Check(ctx)
	if f.JSON {
		err = r.JSON(stdout)
	} else {
		err = r.Text(stdout)
	}
	if err != nil {
		return err
	}
	if n := len(r.Attention()); n > 0 {
		return fmt.Errorf("status: %d findings need attention", n)
	}
	return nil
}

// unixPath is the socket of a unix:// (or absolute path) agent address, whose listener's API rate
// limits status reads; "" for any other address.
func unixPath(addr string) string {
	if p, ok := strings.CutPrefix(addr, "unix://"); ok {
		return p
	}
	if filepath.IsAbs(addr) {
		return addr
	}
	return ""
}
