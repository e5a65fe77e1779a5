package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/labels"
	"github.com/cilium-docker/cilium-docker/metrics"
	"github.com/cilium-docker/cilium-docker/reconcile"
)

// Config is the plugin's validated configuration.
type Config struct {
	CiliumAPI, DockerHost, PluginDir string
	// DriverName is the network and IPAM driver name Docker knows the plugin by: `cilium` for the legacy
	// socket, the plugin's reference for a managed plugin (`cilium-docker:latest`).
	DriverName                    string
	Debug                         bool
	LogFormat                     string
	AgentTimeout, EndpointTimeout time.Duration
	ParallelCreates               int
	MetricsAddress                string
	// AgentStartupWait is how long after start RequestAddress and Join wait for an agent not up yet.
	AgentStartupWait             time.Duration
	DockerTimeout, KernelTimeout time.Duration
	// ShutdownDrain is how long the socket keeps serving after the stop signal while links are left.
	ShutdownDrain time.Duration
	// ReconcileInterval is the time between the reconciler's passes; 0 turns it off.
	ReconcileInterval time.Duration
	Labels            labels.Policy
	// PolicyDir, when set, is the agent's static policy directory: with Etcd, the plugin keeps it equal
	// to the policies in etcd, reporting as NodeName; without, it holds the io.cilium.egress policies of
	// this node's containers only.
	PolicyDir, NodeName string
	Etcd                cliflags.Etcd
	// IdentityGCInterval is the time between the passes of Cilium's identity garbage collection, run by
	// the policy sync of the one node elected in the cluster; 0: this node takes no part.
	IdentityGCInterval time.Duration
}

// SocketPath is where Docker finds the plugin: a legacy plugin's file name is its driver name; a managed
// plugin's directory is its own and the file is plugin/config.json's interface.socket, the same name.
func (c *Config) SocketPath() string { return filepath.Join(c.PluginDir, socketName) }

func parseConfig(args []string, stderr io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("cilium-docker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.CiliumAPI, "cilium-api", "unix:///var/run/cilium/cilium.sock", "cilium-agent API address")
	fs.StringVar(&c.DockerHost, "docker-host-path", "unix:///var/run/docker.sock", "Docker API address")
	fs.StringVar(&c.PluginDir, "docker-plugins", "/run/docker/plugins", "directory of Docker's plugin sockets")
	fs.StringVar(&c.DriverName, "driver-name", defaultDriverName,
		"the driver name networks give (--driver, --ipam-driver): the managed plugin's name when run as one (cilium-docker:latest)")
	fs.BoolVar(&c.Debug, "debug", false, "log every request")
	fs.BoolVar(&c.Debug, "D", false, "short for --debug")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&c.AgentTimeout, "agent-timeout", 10*time.Second, "deadline of each cilium-agent call")
	fs.DurationVar(&c.EndpointTimeout, "endpoint-timeout", agent.DefaultTimeouts.Create, "deadline of an endpoint create request, which waits for its datapath; a create waiting for a free slot gives up when the agent answered no create for as long")
	fs.IntVar(&c.ParallelCreates, "agent-parallel-creates", agent.DefaultTimeouts.ParallelCreates,
		"endpoint creates in flight towards cilium-agent at once; the rest of a burst of starts waits its turn here")
	fs.DurationVar(&c.AgentStartupWait, "agent-startup-wait", time.Minute,
		"for this long after start, RequestAddress and Join wait for a cilium-agent that is not up yet instead of failing at once (0: never)")
	fs.DurationVar(&c.DockerTimeout, "docker-timeout", 2*time.Second, "deadline of each Docker API call")
	fs.DurationVar(&c.KernelTimeout, "kernel-timeout", endpoint.DefaultTimeout, "deadline of each kernel operation (a veth create, a port reservation)")
	fs.DurationVar(&c.ShutdownDrain, "shutdown-drain", 0,
		"after SIGTERM keep serving for up to this long, until no container on a cilium network is left (the compose layout, where dockerd stops the plugin together with the containers)")
	fs.DurationVar(&c.ReconcileInterval, "reconcile-interval", time.Minute,
		"time between garbage-collection passes (the first runs at start); 0 turns garbage collection off")
	exclude := fs.String("label-exclude", strings.Join(labels.DefaultExclude, ","),
		"container labels left out of the identity (comma list; 'prefix*' or exact key)")
	include := fs.String("label-include", strings.Join(labels.DefaultInclude, ","),
		"labels kept although --label-exclude matches them")
	images := fs.String("image-labels", "",
		"image labels admitted to the identity (comma list; 'prefix*', exact key, or '*' for all); by default a container label with its image's value is the image's and is left out")
	fs.StringVar(&c.MetricsAddress, "metrics-address", "",
		"serve Prometheus /metrics and /healthz on host:port or unix:///path (off when empty)")
	namespace := fs.String("default-namespace", labels.DefaultNamespace,
		"namespace Cilium and Hubble show a container under when it has no compose project or Nomad namespace")
	fs.StringVar(&c.PolicyDir, "policy-dir", "",
		"the agent's static policy directory (--static-cnp-path): with the etcd flags, keep it equal to the policies in etcd; "+
			"io.cilium.egress policies go to etcd then, without etcd into this directory only (off when empty)")
	fs.StringVar(&c.NodeName, "node-name", cliflags.DefaultNodeName(), "this node's name in the policy status keys")
	fs.DurationVar(&c.IdentityGCInterval, "identity-gc-interval", cliflags.DefaultIdentityGCInterval,
		"with --policy-dir: between passes of Cilium's identity garbage collection in etcd, run by one elected node (0: this node takes no part)")
	c.Etcd.Register(fs)
	k8sIdentity := fs.Bool("k8s-identity-labels", true,
		"stamp k8s:io.kubernetes.pod.namespace=<namespace> and k8s:io.cilium.k8s.policy.cluster=<agent's cluster name> on every "+
			"container, so that plain Kubernetes-style policies select containers; false keeps the identities of earlier releases "+
			"(policies whose peer selectors say the namespace label DoesNotExist)")
	if err := fs.Parse(args); err != nil {
		return nil, cli.Usage(err)
	}
	if fs.NArg() > 0 {
		return nil, cli.Usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if err := cliflags.ApplyEnv(fs); err != nil {
		return nil, cli.Usage(err)
	}
	c.Labels = labels.Policy{Exclude: cliflags.SplitList(*exclude), Include: cliflags.SplitList(*include), ImageLabels: cliflags.SplitList(*images),
		DefaultNamespace: *namespace, K8sIdentity: *k8sIdentity}
	return c, c.Validate()
}

// Validate checks the configuration before anything starts.
func (c *Config) Validate() error {
	var errs []error
	for name, addr := range map[string]string{"--cilium-api": c.CiliumAPI, "--docker-host-path": c.DockerHost} {
		u, err := url.Parse(addr)
		if err != nil || (u.Scheme != "unix" && u.Scheme != "tcp" && u.Scheme != "http") {
			errs = append(errs, fmt.Errorf("%s %q: want unix:///path or tcp://host:port", name, addr))
		}
	}
	if !filepath.IsAbs(c.PluginDir) {
		errs = append(errs, fmt.Errorf("--docker-plugins %q: want an absolute path", c.PluginDir))
	}
	if !validDriverName(c.DriverName) {
		errs = append(errs, fmt.Errorf("--driver-name %q: want a plugin name such as cilium or cilium-docker:latest", c.DriverName))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	for name, d := range map[string]time.Duration{"--agent-timeout": c.AgentTimeout, "--endpoint-timeout": c.EndpointTimeout,
		"--docker-timeout": c.DockerTimeout, "--kernel-timeout": c.KernelTimeout} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: want a positive duration", name, d))
		}
	}
	if c.MetricsAddress != "" {
		if _, _, err := metrics.ParseAddress(c.MetricsAddress); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-address: %w", err))
		}
	}
	if c.PolicyDir != "" {
		if !filepath.IsAbs(c.PolicyDir) {
			errs = append(errs, fmt.Errorf("--policy-dir %q: want an absolute path", c.PolicyDir))
		}
	}
	if !labels.ValidNamespace(c.Labels.DefaultNamespace) {
		errs = append(errs, fmt.Errorf("--default-namespace %q: want lowercase letters, digits, '-' and '_', at most 63", c.Labels.DefaultNamespace))
	}
	if c.ParallelCreates < 1 {
		errs = append(errs, fmt.Errorf("--agent-parallel-creates %d: want at least 1", c.ParallelCreates))
	}
	if c.ShutdownDrain < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-drain %s: want 0 or a positive duration", c.ShutdownDrain))
	}
	if c.AgentStartupWait < 0 {
		errs = append(errs, fmt.Errorf("--agent-startup-wait %s: want 0 or a positive duration", c.AgentStartupWait))
	}
	if c.ReconcileInterval != 0 && c.ReconcileInterval < reconcile.MinInterval {
		errs = append(errs, fmt.Errorf("--reconcile-interval %s: want 0 (off) or at least %s", c.ReconcileInterval, reconcile.MinInterval))
	}
	return errors.Join(errs...)
}

// validDriverName accepts a legacy plugin name or a managed plugin's reference: no spaces, not empty, not
// starting with a separator.
func validDriverName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\n") && !strings.ContainsAny(s[:1], "/:@.-")
}
