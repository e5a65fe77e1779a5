package main

import (
	"context"
	"errors"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
	"github.com/cilium-docker/cilium-docker/policy"
	"github.com/cilium-docker/cilium-docker/policy/dirsync"
)

func (c *policyCmd) sync(ctx context.Context, _ []string) error {
	if c.validate {
		if !c.etcd.Set() {
			return usage(errors.New("no etcd: set --etcd-endpoints or --etcd-config (CILIUM_DOCKER_ETCD_ENDPOINTS)"))
		}
		if _, err := storeConfig(&c.etcd); err != nil {
			return usage(err)
		}
		return nil
	}
	st, err := c.open()
	if err != nil {
		return err
	}
	defer st.Close()
	l := logrus.New()
	l.SetOutput(c.stderr)
	log := logrus.NewEntry(l).WithField("subsys", "policy-sync")
	cluster := c.cluster
	opt := dirsync.Options{Node: c.node, Cluster: func(context.Context) string { return cluster }, AgentVersion: c.agentVersion}
	if c.reportState {
		opt.Report = func(s syncreport.Stats) { // one line per report, read by the plugin (supervise)
			if err := syncreport.Write(c.stdout, s); err != nil {
				log.WithError(err).Debug("report the sync's state")
			}
		}
	}
	s := dirsync.New(log, st, dirsync.InProcess(policy.CheckStored), c.dir, opt)
	log.WithFields(map[string]any{"dir": c.dir, "node": c.node}).Info("policy sync starting")
	return s.Run(ctx)
}
