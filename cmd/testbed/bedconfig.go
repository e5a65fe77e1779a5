package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// bedConfig is the bed of the environment: TESTBED_ID, TESTBED_DIR (default /tmp/[ID-]cdtb),
// STOP_TIMEOUT (seconds), CILIUM_DOCKER_CACHE (else XDG_CACHE_HOME or ~/.cache, /cilium-docker), and
// TESTBED_REPO (else the directory above this binary's bin/).
func bedConfig(s cli.IO) (testbed.Config, error) {
	c := testbed.Config{ID: os.Getenv("TESTBED_ID"), Dir: os.Getenv("TESTBED_DIR"), Log: s.Err,
		Repo: os.Getenv("TESTBED_REPO")}
	exe, err := os.Executable()
	if err != nil {
		return c, err
	}
	c.Self = exe
	if c.Repo == "" {
		c.Repo = filepath.Dir(filepath.Dir(exe))
	}
	if v := os.Getenv("STOP_TIMEOUT"); v != "" {
		sec, err := strconv.Atoi(v)
		if err != nil || sec <= 0 {
			return c, fmt.Errorf("STOP_TIMEOUT %q: want whole seconds", v)
		}
		c.StopTimeout = time.Duration(sec) * time.Second
	}
	return c.WithDefaults()
}

// upOptions are `up`'s options from the environment, as the usage says. A setting given is pinned: a
// node up with another one is refused (exit 4).
func upOptions(c testbed.Config) (testbed.Options, error) {
	o := testbed.Options{Docker: os.Getenv("DOCKER_VERSION"), Cilium: os.Getenv("CILIUM_VERSION"),
		PluginMode: os.Getenv("PLUGIN_MODE"), Limits: os.Getenv("AGENT_API_LIMITS"),
		AgentConfigDir: os.Getenv("AGENT_CONFIG_DIR"), AgentArgs: strings.Fields(os.Getenv("AGENT_ARGS")),
		DockerdLogLevel: os.Getenv("DOCKERD_LOG_LEVEL"), KeepOnFail: os.Getenv("TESTBED_KEEP_ON_FAIL") == "1"}
	switch v := os.Getenv("AGENT_IPV6"); v {
	case "", "0":
	case "1":
		o.IPv6 = true
	default:
		return o, fmt.Errorf("AGENT_IPV6 %q: want 0 or 1", v)
	}
	o.Pinned = testbed.Pinned{Docker: o.Docker != "", Cilium: o.Cilium != "", IPv6: os.Getenv("AGENT_IPV6") != "", Limits: o.Limits != ""}
	bin := os.Getenv("PLUGIN_BIN")
	if bin == "" {
		bin = filepath.Join(c.Repo, "bin", "cilium-docker")
	}
	o.Plugin = testbed.BedPlugin(bin)
	o.Plugin.Args = strings.Fields(os.Getenv("PLUGIN_ARGS"))
	// Set but empty: the plugin runs without the flag.
	for key, v := range map[string]*string{"PLUGIN_METRICS_ADDRESS": &o.Plugin.MetricsAddress,
		"PLUGIN_RECONCILE_INTERVAL": &o.Plugin.ReconcileInterval, "PLUGIN_IDENTITY_GC_INTERVAL": &o.Plugin.IdentityGCInterval} {
		if e, ok := os.LookupEnv(key); ok {
			*v = e
		}
	}
	if e, ok := os.LookupEnv("PLUGIN_POLICY_SYNC"); ok {
		o.Plugin.PolicySync = e != ""
	}
	o.Timeouts = testbed.DefaultTimeouts
	for key, v := range map[string]*time.Duration{"AGENT_TIMEOUT": &o.Timeouts.Agent, "DOCKERD_TIMEOUT": &o.Timeouts.Dockerd,
		"PLUGIN_TIMEOUT": &o.Timeouts.Plugin, "ETCD_TIMEOUT": &o.Timeouts.Etcd} {
		if e := os.Getenv(key); e != "" {
			sec, err := strconv.Atoi(e)
			if err != nil || sec <= 0 {
				return o, fmt.Errorf("%s %q: want whole seconds", key, e)
			}
			*v = time.Duration(sec) * time.Second
		}
	}
	return o, nil
}
