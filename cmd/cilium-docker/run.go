package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
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

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// defaultDriverName is the plugin's network and IPAM driver name as a legacy plugin: its socket's file
// name; socketName is that file.
const (
	defaultDriverName = driver.DriverName
	socketName        = defaultDriverName + ".sock"
)

// configTTL is how long the agent's addressing and MTU are reused before they are read again.
const configTTL = 30 * time.Second

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			fmt.Fprintln(stdout, "cilium-docker", version)
			return nil
		case "status":
			return runStatus(ctx, args[1:], stdout, stderr)
		case "flows":
			return runFlows(ctx, args[1:], stdout, stderr)
		case "certs":
			return runCerts(args[1:], stdout, stderr)
		case "help":
			fmt.Fprintln(stdout, usage)
			return nil
		}
	}
	if len(args) > 0 && args[0] == "policy" {
		return runPolicy(ctx, args[1:], os.Stdin, stdout, stderr)
	}
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	var policyBin string // runs the policy sync
	if cfg.PolicyDir != "" {
		if err := policyDirWritable(cfg.PolicyDir); err != nil {
			return fmt.Errorf("--policy-dir: %w", err)
		}
		if policyBin, err = findPolicyBinary(); err != nil {
			return fmt.Errorf("--policy-dir: %w", err)
		}
		if err := validatePolicySync(ctx, policyBin, cfg); err != nil {
			return fmt.Errorf("--policy-dir: %w", err)
		}
	}

	m := metrics.New()
	ac, err := agent.New(cfg.CiliumAPI, agent.Timeouts{Call: cfg.AgentTimeout, Create: cfg.EndpointTimeout,
		ParallelCreates: cfg.ParallelCreates, Startup: cfg.AgentStartupWait}, agent.WithObserver(m.ObserveAgent),
		agent.WithRateLimitObserver(m.ObserveAgentRateLimited))
	if err != nil {
		return err
	}
	ag := agent.NewCached(ac, configTTL)
	dc, err := dockerapi.New(cfg.DockerHost, cfg.DockerTimeout, dockerapi.WithObserver(m.ObserveDocker))
	if err != nil {
		return err
	}
	defer dc.Close()

	book := ipam.NewBook()
	m.Gauge("addresses_allocated", "Addresses this process handed to Docker that no endpoint holds yet.",
		func() float64 { a, _ := book.Counts(); return float64(a) })
	m.Gauge(metrics.AgentParallelCreates, "Endpoint creates this process sends cilium-agent at once (--agent-parallel-creates).",
		func() float64 { return float64(cfg.ParallelCreates) })
	m.Gauge(metrics.EndpointsManaged, "Endpoints this process joined whose addresses the agent holds.",
		func() float64 { _, b := book.Counts(); return float64(b) })
	veths := endpoint.NewVeths(cfg.KernelTimeout)
	ports := endpoint.NewPorts(cfg.KernelTimeout)
	defer ports.Close() // the rules stay: the next process restores their reservations
	if n, err := ports.Restore(ctx); err != nil {
		log.WithError(err).WithField("reserved", n).Warn("published ports of the previous process: some host ports could not be reserved again")
	} else if n > 0 {
		log.WithField("reserved", n).Info("published ports of the previous process reserved again")
	}
	inFlight := reconcile.NewTracker()
	srv := server.New(log.WithField("subsys", "server"), server.WithObserver(m.ObserveCall))
	ipamCore := ipam.New(ipam.Deps{Agent: ag, Book: book, Tracker: inFlight})
	ipam.Register(srv, ipamCore)
	reaper := driver.NewReaper(log.WithField("subsys", "reaper"), veths, inFlight)
	labelled := driver.NewLabelled()
	builds := driver.NewBuilds()
	driver.Register(srv, driver.New(driver.Deps{Log: log.WithField("subsys", "driver"), Name: cfg.DriverName,
		AddressSpaces: ipam.AddressSpaces(), Agent: ag, Links: veths, Docker: dc, Addresses: ipamCore, Policy: cfg.Labels,
		Ports: ports, Tracker: inFlight, Reap: reaper, Labelled: labelled, HandOver: builds}))
	labels := driver.NewLabelSync(driver.LabelSyncDeps{Log: log.WithField("subsys", "labels"), Agent: ag, Docker: dc,
		Policy: cfg.Labels, Skip: labelled})
	gc := reconcile.New(reconcile.Deps{Log: log.WithField("subsys", "reconcile"), Docker: dc, Agent: ag, Links: veths,
		Ports: ports, Tracker: inFlight}, reconcile.Config{Interval: cfg.ReconcileInterval, Hold: reconcile.DockerRetryWindow, Owner: ipam.Owner})

	var ml *metrics.Listener // bound before anything starts: a path it refuses fails the start
	if cfg.MetricsAddress != "" {
		if ml, err = metrics.Listen(ctx, cfg.MetricsAddress, listenUnix); err != nil {
			return fmt.Errorf("--metrics-address: %w", err)
		}
	}

	log.WithFields(logrus.Fields{"version": version, "cilium-api": cfg.CiliumAPI, "docker": cfg.DockerHost,
		"driver": cfg.DriverName, "socket": cfg.SocketPath()}).Info("starting")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := labels.Run(ctx); err != nil {
			log.WithError(err).Error("label sync stopped")
		}
	}()
	if cfg.PolicyDir != "" {
		ps := newPolicySync(cfg, policyBin, log.WithField("subsys", "policy-sync"), ag, stderr)
		m.PolicySync(ps.stats)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ps.Run(ctx); err != nil {
				log.WithError(err).Error("policy sync stopped")
			}
		}()
	}
	if ml != nil {
		health := metrics.NewHealth(log.WithField("subsys", "health"), func(ctx context.Context) error { return healthy(ctx, cfg.SocketPath(), ac) })
		h := m.Handler(health.Check)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ml.Serve(ctx, h); err != nil {
				log.WithError(err).Error("metrics listener stopped")
			}
		}()
	}
	if cfg.ReconcileInterval > 0 {
		m.Reconciler(reconcilerStats(gc))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := gc.Run(ctx); err != nil {
				log.WithError(err).Error("reconciler stopped")
			}
		}()
	}
	// The socket outlives the signal by the drain: Docker tears down the containers it stops at the
	// same time as this one (compose layout) through it.
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer stopServing()
		<-ctx.Done()
		drain(serveCtx, log, veths, cfg.ShutdownDrain)
	}()
	// The reaper serves DeleteEndpoint as long as the socket does, and deletes what is left when it stops.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := reaper.Run(serveCtx); err != nil {
			log.WithError(err).Error("veth reaper stopped")
		}
	}()
	err = srv.Serve(serveCtx, cfg.SocketPath(), cfg.EndpointTimeout+5*time.Second)
	builds.Stop() // the agent endpoint creates Joins handed over, each bounded by --endpoint-timeout
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

// drainPoll is how often the drain looks for links left; drainTail is how long it keeps serving after
// the last one went, for the calls that follow a DeleteEndpoint (ReleaseAddress).
const (
	drainPoll = 250 * time.Millisecond
	drainTail = time.Second
)

// drain keeps the socket serving for at most d after the stop signal, ending early once no host link
// of this plugin is left (every container on a cilium network was torn down) and drainTail passed.
// It returns at once for d = 0 or when ctx is done (the server stopped on its own).
func drain(ctx context.Context, log *logrus.Entry, links interface {
	ListOwned(ctx context.Context) ([]endpoint.Link, error)
}, d time.Duration) {
	if d <= 0 {
		return
	}
	log.WithField("drain", d).Info("stop signal: serving until the containers on cilium networks are torn down")
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	var idleSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			log.Info("drain over")
			return
		case <-tick.C:
			owned, err := links.ListOwned(ctx)
			now := time.Now() // after the look, not the tick's stamp: the tail counts from a look that found none
			switch {
			case err != nil || len(owned) > 0:
				idleSince = time.Time{}
			case idleSince.IsZero():
				idleSince = now
			case now.Sub(idleSince) >= drainTail:
				log.Info("drained: no container left on a cilium network")
				return
			}
		}
	}
}

func newLogger(cfg *Config, out io.Writer) *logrus.Entry {
	l := logrus.New()
	l.SetOutput(out)
	if cfg.LogFormat == "json" {
		l.SetFormatter(&logrus.JSONFormatter{})
	}
	if cfg.Debug {
		l.SetLevel(logrus.DebugLevel)
	}
	return logrus.NewEntry(l)
}
