package cliflags

import (
	"flag"
	"time"
)

// PolicyBinary is the name of the binary that holds the policy commands and the policy sync.
const PolicyBinary = "cilium-docker-policy"

// PolicyViaPlugin is the argv[0] the plugin gives the policy binary when it runs it for `cilium-docker
// policy`: the name the binary then shows in its usage and errors.
const PolicyViaPlugin = "cilium-docker policy"

// PluginBinary is the plugin's binary: the argv[0] it gives the policy binary when it runs it for
// `cilium-docker node` (whose commands then show as "cilium-docker node ...").
const PluginBinary = "cilium-docker"

// DefaultPrefix is the etcd key prefix of the policies and node statuses (policy/store's default).
const DefaultPrefix = "cilium-docker/policy/v1/"

// Etcd are the etcd connection flags of the policy commands and the plugin's policy sync: the same
// endpoints and TLS files as the agent's kvstore (--kvstore-opt etcd.address= or etcd.config=). This
// package links no etcd client: the plugin daemon passes the flags on to its policy sync (Args), and
// the policy binary turns them into policy/store's configuration.
type Etcd struct {
	Endpoints, Config, CA, Cert, Key, Prefix string
	Timeout                                  time.Duration
}

// Register adds the flags to fs.
func (e *Etcd) Register(fs *flag.FlagSet) {
	e.RegisterConn(fs)
	fs.StringVar(&e.Prefix, "etcd-prefix", DefaultPrefix, "etcd key prefix of the policies and node statuses")
}

// RegisterConn adds the connection flags only (no --etcd-prefix), for commands whose keys live under
// another prefix of their own flag (the node ranges), so that CILIUM_DOCKER_ETCD_PREFIX, the policies'
// prefix, never moves them.
func (e *Etcd) RegisterConn(fs *flag.FlagSet) {
	fs.StringVar(&e.Endpoints, "etcd-endpoints", "", "etcd endpoints, comma-separated (the agent's etcd.address), e.g. http://127.0.0.1:2379")
	fs.StringVar(&e.Config, "etcd-config", "", "the agent's etcd client configuration file (its etcd.config): endpoints and TLS files")
	fs.StringVar(&e.CA, "etcd-ca", "", "etcd CA certificate file (trusted-ca-file)")
	fs.StringVar(&e.Cert, "etcd-cert", "", "etcd client certificate file (cert-file)")
	fs.StringVar(&e.Key, "etcd-key", "", "etcd client key file (key-file)")
	fs.DurationVar(&e.Timeout, "etcd-timeout", 5*time.Second, "deadline of each etcd call")
}

// Set reports whether etcd was given at all (endpoints or a configuration file).
func (e *Etcd) Set() bool { return e.Endpoints != "" || e.Config != "" }

// Args are the flags that give another process (the policy sync) the same connection.
func (e *Etcd) Args() []string {
	var out []string
	for _, f := range []struct{ name, v string }{{"etcd-endpoints", e.Endpoints}, {"etcd-config", e.Config},
		{"etcd-ca", e.CA}, {"etcd-cert", e.Cert}, {"etcd-key", e.Key}, {"etcd-prefix", e.Prefix}} {
		if f.v != "" {
			out = append(out, "--"+f.name+"="+f.v)
		}
	}
	if e.Timeout > 0 {
		out = append(out, "--etcd-timeout="+e.Timeout.String())
	}
	return out
}

// DefaultIdentityGCInterval is the default of --identity-gc-interval (the plugin's and the sync's): the
// operator's (identity-gc-interval, the agents' kvstore lease TTL, 15m).
const DefaultIdentityGCInterval = 15 * time.Minute
