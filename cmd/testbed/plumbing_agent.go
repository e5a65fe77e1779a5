package main

import (
	"fmt"
	"strings"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// The agent's, etcd's and the plugin's plumbing verbs.
func plumbingAgent() []cli.Command {
	return []cli.Command{
		{Name: "_cilium-dir", Run: bedVerb(1, 1, plumbCiliumDir)},
		{Name: "_etcd-bin", Run: bedVerb(0, 0, plumbEtcdBin)},
		{Name: "_cilium-cli", Run: bedVerb(2, 2, plumbCiliumCLI)},
		{Name: "_start-etcd", Run: bedVerb(2, 2, plumbStartEtcd)},
		{Name: "_etcd-ok", Run: bedVerb(2, 2, plumbEtcdOK)},
		{Name: "_start-agent", Run: bedVerb(7, 7, plumbStartAgent)},
		{Name: "_agent-ok", Run: bedVerb(1, 1, plumbAgentOK)},
		{Name: "_replace-agent", Run: bedVerb(4, 4, plumbReplaceAgent)},
		{Name: "_start-plugin", Run: bedVerb(7, 7, plumbStartPlugin)},
		{Name: "_plugin-ok", Run: bedVerb(1, 1, plumbPluginOK)},
	}
}

// _cilium-dir VERSION: the cache directory of that cilium (built when missing).
func plumbCiliumDir(c testbed.Config, a []string, s cli.IO) error {
	d, err := c.ResolveCilium(a[0])
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(s.Out, d)
	return err
}

func plumbEtcdBin(c testbed.Config, _ []string, s cli.IO) error {
	bin, err := c.ResolveEtcd()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(s.Out, bin)
	return err
}

// _cilium-cli NODE CILIUM_DIR
func plumbCiliumCLI(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	return testbed.WriteCiliumCLI(nd, a[1])
}

// _start-etcd NODE ETCD_BIN
func plumbStartEtcd(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	return c.StartEtcd(nd, a[1])
}

// _etcd-ok NODE URL: rc 0 when etcd at URL answers healthy from the node's netns, 1 (silent) when not.
func plumbEtcdOK(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	if !testbed.EtcdHealthy(nd, a[1]) {
		return notRunning
	}
	return nil
}

// _start-agent NODE CILIUM_DIR CONFIG_DIR AGENT_IPV6 AGENT_API_LIMITS WRAPPER AGENT_ARGS (split on blanks)
func plumbStartAgent(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	ag := testbed.Agent{CiliumDir: a[1], ConfigDir: a[2], IPv6: a[3] == "1", Limits: a[4], Args: strings.Fields(a[6])}
	return c.StartAgent(nd, ag, a[5])
}

func plumbAgentOK(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	if !testbed.AgentOK(nd) {
		return notRunning
	}
	return nil
}

// _replace-agent NODE VERSION DIR OLD_DIR
func plumbReplaceAgent(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	return c.ReplaceAgent(nd, a[1], a[2], a[3])
}

// _start-plugin NODE BIN METRICS_ADDRESS RECONCILE_INTERVAL POLICY_SYNC IDENTITY_GC_INTERVAL PLUGIN_ARGS (split on blanks)
func plumbStartPlugin(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	p := testbed.Plugin{Bin: a[1], MetricsAddress: a[2], ReconcileInterval: a[3], PolicySync: a[4] != "",
		IdentityGCInterval: a[5], Args: strings.Fields(a[6])}
	return c.StartPlugin(nd, p)
}

func plumbPluginOK(c testbed.Config, a []string, _ cli.IO) error {
	nd, err := node(c, a[0])
	if err != nil {
		return err
	}
	if !testbed.PluginOK(nd) {
		return notRunning
	}
	return nil
}
