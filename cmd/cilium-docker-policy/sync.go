package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/identitygc"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
	"github.com/cilium-docker/cilium-docker/policy"
	"github.com/cilium-docker/cilium-docker/policy/dirsync"
	"github.com/cilium-docker/cilium-docker/policy/store"
)

func (c *policyCmd) sync(ctx context.Context, _ []string) error {
	if !c.etcd.Set() {
		return usage(errors.New("no etcd: set --etcd-endpoints or --etcd-config (CILIUM_DOCKER_ETCD_ENDPOINTS)"))
	}
	if c.gcInterval < 0 {
		return usage(fmt.Errorf("--identity-gc-interval %s: want >= 0 (0: off)", c.gcInterval))
	}
	if c.clusterID > math.MaxUint32 {
		return usage(fmt.Errorf("--cluster-id %d: out of range", c.clusterID))
	}
	cfg, err := storeConfig(&c.etcd)
	if err != nil {
		return usage(err)
	}
	if c.validate {
		return nil
	}
	cli, err := store.Dial(cfg)
	if err != nil {
		return err
	}
	st := store.New(cli, cfg) // the sync and the identity GC share the one client
	defer st.Close()
	l := logrus.New()
	l.SetOutput(c.stderr)
	log := logrus.NewEntry(l).WithField("subsys", "policy-sync")
	rep := &reporter{on: c.reportState, write: func(s syncreport.Stats) {
		if err := syncreport.Write(c.stdout, s); err != nil {
			log.WithError(err).Debug("report the sync's state")
		}
	}}
	cluster := c.cluster
	opt := dirsync.Options{Node: c.node, Cluster: func(context.Context) string { return cluster }, AgentVersion: c.agentVersion,
		Report: rep.sync}
	s := dirsync.New(log, st, dirsync.InProcess(policy.CheckStored), c.dir, opt)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	if c.gcInterval > 0 {
		// Cilium's allocator logs with slog: its lines go to the same standard error as the sync's.
		gc, err := identitygc.New(cli, slog.New(slog.NewTextHandler(c.stderr, nil)).With("subsys", "identity-gc"),
			identitygc.Options{Interval: c.gcInterval, ClusterID: uint32(c.clusterID), Node: c.node, Timeout: cfg.Timeout, Report: rep.gc})
		if err != nil {
			return usage(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = gc.Run(ctx) // ends with ctx only
		}()
	}
	log.WithFields(map[string]any{"dir": c.dir, "node": c.node, "identity-gc-interval": c.gcInterval}).Info("policy sync starting")
	return s.Run(ctx)
}

// reporter writes the sync's state, with the identity GC's, as one line at each report of either.
type reporter struct {
	on    bool
	write func(syncreport.Stats)

	mu   sync.Mutex
	last syncreport.Stats // guarded by mu
}

func (r *reporter) sync(s syncreport.Stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.GC = r.last.GC
	r.last = s
	if r.on {
		r.write(s)
	}
}

func (r *reporter) gc(g syncreport.IdentityGC) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last.GC = g
	if r.on {
		r.write(r.last)
	}
}
