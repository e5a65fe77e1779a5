package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/ipam"
	"github.com/cilium-docker/cilium-docker/reconcile"
	"github.com/cilium-docker/cilium-docker/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// driverName is the plugin's network and IPAM driver name: its socket's file name.
const driverName = "cilium"

// configTTL is how long the agent's addressing and MTU are reused before they are read again.
const configTTL = 30 * time.Second

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, "cilium-docker", version)
		return nil
	}
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	ac, err := agent.New(cfg.CiliumAPI, agent.Timeouts{Call: cfg.AgentTimeout, Create: cfg.EndpointTimeout,
		ParallelCreates: cfg.ParallelCreates, Startup: cfg.AgentStartupWait})
	if err != nil {
		return err
	}
	ag := agent.NewCached(ac, configTTL)
	dc, err := dockerapi.New(cfg.DockerHost, cfg.DockerTimeout)
	if err != nil {
		return err
	}
	defer dc.Close()

	book := ipam.NewBook()
	veths := endpoint.NewVeths(cfg.KernelTimeout)
	inFlight := reconcile.NewTracker()
	srv := server.New(log.WithField("subsys", "server"))
	ipamCore := ipam.New(ag, book).Track(inFlight)
	ipam.Register(srv, ipamCore)
	driver.Register(srv, driver.New(log.WithField("subsys", "driver"), ag, veths, dc, ipamCore, cfg.Labels).Track(inFlight))
	labels := driver.NewLabelSync(log.WithField("subsys", "labels"), ag, dc, cfg.Labels)
	gc := reconcile.New(log.WithField("subsys", "reconcile"), dc, ag, veths, inFlight, reconcile.Config{
		Interval: cfg.ReconcileInterval, Hold: reconcile.DockerRetryWindow, Driver: driverName, Owner: ipam.Owner})

	log.WithFields(logrus.Fields{"version": version, "cilium-api": cfg.CiliumAPI, "docker": cfg.DockerHost}).Info("starting")
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
	if cfg.ReconcileInterval > 0 {
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
	err = srv.Serve(serveCtx, cfg.SocketPath(), cfg.EndpointTimeout+5*time.Second)
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
		case now := <-tick.C:
			owned, err := links.ListOwned(ctx)
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
