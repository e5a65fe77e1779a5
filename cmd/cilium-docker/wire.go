package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/ipam"
	"github.com/cilium-docker/cilium-docker/metrics"
	"github.com/cilium-docker/cilium-docker/reconcile"
	"github.com/cilium-docker/cilium-docker/server"
)

// configTTL is how long the agent's addressing and MTU are reused before they are read again.
const configTTL = 30 * time.Second

// plugin is the daemon wired: every component built, the sockets bound, nothing started; serve runs it.
type plugin struct {
	docker *dockerapi.Client
	veths  *endpoint.Veths
	ports  *endpoint.Ports
	srv    *server.Server
	reaper *driver.Reaper
	builds *driver.Builds
	labels *driver.LabelSync
	egress *driver.Egress        // derives its counts at start (Restore)
	gc     *reconcile.Reconciler // runs when cfg.ReconcileInterval > 0
	policy *policySync           // nil without --policy-dir
	// metrics serves metricsHandler; nil without --metrics-address.
	metrics        *metrics.Listener
	metricsHandler http.Handler
}

// wire builds the daemon from cfg. Everything that can refuse the configuration does so here, before
// anything starts: the policy binary and its flags, the agent's and Docker's addresses, the metrics
// address. Close releases what it holds.
func wire(ctx context.Context, cfg *Config, log *logrus.Entry, stderr io.Writer) (_ *plugin, err error) {
	var policyBin string // runs the policy sync
	if cfg.PolicyDir != "" {
		if err := policyDirWritable(cfg.PolicyDir); err != nil {
			return nil, fmt.Errorf("--policy-dir: %w", err)
		}
		if policyBin, err = findPolicyBinary(); err != nil {
			return nil, fmt.Errorf("--policy-dir: %w", err)
		}
		if cfg.Etcd.Set() {
			if err := validatePolicySync(ctx, policyBin, cfg); err != nil {
				return nil, fmt.Errorf("--policy-dir: %w", err)
			}
		}
	}

	m := metrics.New()
	ac, err := agent.New(cfg.CiliumAPI, agent.Timeouts{Call: cfg.AgentTimeout, Create: cfg.EndpointTimeout,
		ParallelCreates: cfg.ParallelCreates, Startup: cfg.AgentStartupWait}, agent.WithObserver(m.ObserveAgent),
		agent.WithRateLimitObserver(m.ObserveAgentRateLimited))
	if err != nil {
		return nil, err
	}
	ag := agent.NewCached(ac, configTTL)
	dc, err := dockerapi.New(cfg.DockerHost, cfg.DockerTimeout, dockerapi.WithObserver(m.ObserveDocker))
	if err != nil {
		return nil, err
	}
	p := &plugin{docker: dc, veths: endpoint.NewVeths(cfg.KernelTimeout), ports: endpoint.NewPorts(cfg.KernelTimeout)}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()

	book := ipam.NewBook()
	m.Gauge("addresses_allocated", "Addresses this process handed to Docker that no endpoint holds yet.",
		func() float64 { a, _ := book.Counts(); return float64(a) })
	m.Gauge(metrics.AgentParallelCreates, "Endpoint creates this process sends cilium-agent at once (--agent-parallel-creates).",
		func() float64 { return float64(cfg.ParallelCreates) })
	m.Gauge(metrics.EndpointsManaged, "Endpoints this process joined whose addresses the agent holds.",
		func() float64 { _, b := book.Counts(); return float64(b) })
	if n, err := p.ports.Restore(ctx); err != nil {
		log.WithError(err).WithField("reserved", n).Warn("published ports of the previous process: some host ports could not be reserved again")
	} else if n > 0 {
		log.WithField("reserved", n).Info("published ports of the previous process reserved again")
	}

	inFlight := reconcile.NewTracker()
	p.srv = server.New(log.WithField("subsys", "server"), server.WithObserver(m.ObserveCall))
	ipamCore := ipam.New(ipam.Deps{Agent: ag, Book: book, Tracker: inFlight})
	ipam.Register(p.srv, ipamCore)
	p.reaper = driver.NewReaper(log.WithField("subsys", "reaper"), p.veths, inFlight)
	labelled := driver.NewLabelled()
	p.builds = driver.NewBuilds()
	var egress driver.EgressPolicies = noEgressPolicies{}
	switch {
	case cfg.PolicyDir != "" && cfg.Etcd.Set():
		p.policy = newPolicySync(cfg, policyBin, log.WithField("subsys", "policy-sync"), ag, stderr)
		m.PolicySync(p.policy.stats)
		egress = newEgressPolicies(policyBin, cfg, ag, p.policy)
	case cfg.PolicyDir != "": // no cluster store: the node's directory only
		egress = newEgressPolicies(policyBin, cfg, ag, nil)
	}
	drv := driver.New(driver.Deps{Log: log.WithField("subsys", "driver"), Name: cfg.DriverName,
		AddressSpaces: ipam.AddressSpaces(), Agent: ag, Links: p.veths, Docker: dc, Addresses: ipamCore, Policy: cfg.Labels,
		Ports: p.ports, Tracker: inFlight, Reap: p.reaper, Labelled: labelled, HandOver: p.builds, Egress: egress, Node: cfg.NodeName})
	driver.Register(p.srv, drv)
	p.egress = drv.Egress()
	p.labels = driver.NewLabelSync(driver.LabelSyncDeps{Log: log.WithField("subsys", "labels"), Agent: ag, Docker: dc,
		Policy: cfg.Labels, Skip: labelled, Egress: p.egress})
	p.gc = reconcile.New(reconcile.Deps{Log: log.WithField("subsys", "reconcile"), Docker: dc, Agent: ag, Links: p.veths,
		Ports: p.ports, Tracker: inFlight, Removed: p.egress.Forget}, reconcile.Config{Interval: cfg.ReconcileInterval, Hold: reconcile.DockerRetryWindow, Owner: ipam.Owner})
	if cfg.ReconcileInterval > 0 {
		m.Reconciler(reconcilerStats(p.gc))
	}

	if cfg.MetricsAddress != "" { // bound before anything starts: a path it refuses fails the start
		if p.metrics, err = metrics.Listen(ctx, cfg.MetricsAddress, listenUnix); err != nil {
			return nil, fmt.Errorf("--metrics-address: %w", err)
		}
		health := metrics.NewHealth(log.WithField("subsys", "health"), func(ctx context.Context) error { return healthy(ctx, cfg.SocketPath(), ac) })
		p.metricsHandler = m.Handler(health.Check)
	}
	return p, nil
}

// Close releases what wire acquired. The published ports' rules stay: the next process restores
// their reservations.
func (p *plugin) Close() {
	p.ports.Close()
	p.docker.Close()
}

// listenUnix creates a unix --metrics-address as the plugin socket is made (server.Listen), for
// metrics.Listen, which imports no protocol package.
func listenUnix(path string) (net.Listener, error) {
	l, err := server.Listen(path)
	if err != nil {
		return nil, err
	}
	return l, nil
}
