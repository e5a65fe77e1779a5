package testbed

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Plugin is how a node runs the cilium-docker binary under test as a process (PLUGIN_MODE=process).
type Plugin struct {
	Bin               string
	MetricsAddress    string // --metrics-address in the node; empty: none (a plugin without the flag)
	ReconcileInterval string // --reconcile-interval; empty: the plugin's own
	PolicySync        bool   // --policy-dir, --etcd-endpoints, --node-name: the bed's etcd policies
	// IdentityGCInterval: with the sync, its --identity-gc-interval (Cilium's identity GC, one node
	// elected); empty: the plugin's own.
	IdentityGCInterval string
	Args               []string
}

// BedPlugin is how the bed runs plugin binary bin by default: /metrics on the node's loopback, the
// reconciler at its shortest interval (more passes over every test's state), the policy sync with the
// bed's etcd, and Cilium's identity GC every 10 s (elected among the nodes: often enough for a test's
// patience, and any false removal shows in every test).
func BedPlugin(bin string) Plugin {
	return Plugin{Bin: bin, MetricsAddress: "127.0.0.1:9962", ReconcileInterval: "20s", PolicySync: true, IdentityGCInterval: "10s"}
}

// PluginSocket is the node's legacy plugin socket on the host.
func (nd Node) PluginSocket() string { return filepath.Join(nd.Dir, "plugins", "cilium.sock") }

// PluginOK reports whether the node's plugin answers Plugin.Activate as a network driver.
func PluginOK(nd Node) bool {
	if fi, err := os.Stat(nd.PluginSocket()); err != nil || fi.Mode()&os.ModeSocket == 0 {
		return false
	}
	b, err := unixDo(nd.PluginSocket(), http.MethodPost, "/Plugin.Activate", 2*time.Second)
	return err == nil && bytes.Contains(b, []byte("NetworkDriver"))
}

// StartPlugin launches the node's plugin, its argv recorded: the node's /run/docker/plugins, its agent,
// its dockerd, debug logs; /metrics on the node's own loopback; the reconciler at its shortest interval
// (more passes over every test's state); the policy sync with the bed's etcd.
func (c Config) StartPlugin(nd Node, p Plugin) error {
	argv := []string{p.Bin, "--docker-plugins", "/run/docker/plugins", "--cilium-api", "unix:///var/run/cilium/cilium.sock",
		"--docker-host-path", "unix://" + nd.DockerSocket(), "-D"}
	if p.MetricsAddress != "" {
		argv = append(argv, "--metrics-address", p.MetricsAddress)
	}
	if p.ReconcileInterval != "" {
		argv = append(argv, "--reconcile-interval", p.ReconcileInterval)
	}
	if p.PolicySync {
		argv = append(argv, "--policy-dir", filepath.Join(nd.Dir, "policies"), "--etcd-endpoints", nd.EtcdURL, "--node-name", nd.NS)
		if p.IdentityGCInterval != "" {
			argv = append(argv, "--identity-gc-interval", p.IdentityGCInterval)
		}
	}
	_, err := c.Launch(nd, "plugin", append(argv, p.Args...), true)
	return err
}
