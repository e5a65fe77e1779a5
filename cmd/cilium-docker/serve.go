package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/sirupsen/logrus"
)

// serve runs the daemon configured by cfg until ctx ends (the stop signal), logging to stderr.
//
// Shutdown has two phases. The first begins with ctx: the workers (label sync, policy sync, metrics
// listener, reconciler) stop, while the plugin socket keeps serving through the drain, because Docker
// tears down the containers it stops together with this process (compose layout) through it. The
// second begins when the drain ends (serving): the socket stops accepting and finishes its requests,
// the reaper deletes the veth pairs still handed to it, and the creates Joins handed over end (each
// bounded by --endpoint-timeout). serve returns once both groups did.
func serve(ctx context.Context, cfg *Config, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	p, err := wire(ctx, cfg, log, stderr)
	if err != nil {
		return err
	}
	defer p.Close()

	log.WithFields(logrus.Fields{"version": version, "cilium-api": cfg.CiliumAPI, "docker": cfg.DockerHost,
		"driver": cfg.DriverName, "socket": cfg.SocketPath()}).Info("starting")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := newGroup(log)
	workers.Go("label sync", func() error { return p.labels.Run(ctx) })
	if cfg.PolicyDir != "" { // without it the plugin stores no allow-lists
		workers.Go("egress restore", func() error { return p.egress.Run(ctx) })
	}
	if p.policy != nil {
		workers.Go("policy sync", func() error { return p.policy.Run(ctx) })
	}
	if p.metrics != nil {
		workers.Go("metrics listener", func() error { return p.metrics.Serve(ctx, p.metricsHandler) })
	}
	if cfg.ReconcileInterval > 0 {
		workers.Go("reconciler", func() error { return p.gc.Run(ctx) })
	}

	servingCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	serving := newGroup(log)
	serving.Go("drain", func() error {
		defer stopServing()
		<-ctx.Done()
		drain(servingCtx, log, p.veths, cfg.ShutdownDrain)
		return nil
	})
	// The reaper serves DeleteEndpoint as long as the socket does, and deletes what is left when it stops.
	serving.Go("veth reaper", func() error { return p.reaper.Run(servingCtx) })
	err = p.srv.Serve(servingCtx, cfg.SocketPath(), cfg.EndpointTimeout+5*time.Second)
	p.builds.Stop()
	cancel() // the socket may have failed on its own: stop the workers too
	serving.Wait()
	workers.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
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
