package cliflags

import (
	"flag"
	"time"

	"github.com/cilium-docker/cilium-docker/policystore"
)

// Etcd are the etcd connection flags of the policy commands and the plugin's policy sync: the same
// endpoints and TLS files as the agent's kvstore (--kvstore-opt etcd.address= or etcd.config=).
type Etcd struct {
	endpoints, config, ca, cert, key, prefix string
	timeout                                  time.Duration
}

// Register adds the flags to fs.
func (e *Etcd) Register(fs *flag.FlagSet) {
	fs.StringVar(&e.endpoints, "etcd-endpoints", "", "etcd endpoints, comma-separated (the agent's etcd.address), e.g. http://127.0.0.1:2379")
	fs.StringVar(&e.config, "etcd-config", "", "the agent's etcd client configuration file (its etcd.config): endpoints and TLS files")
	fs.StringVar(&e.ca, "etcd-ca", "", "etcd CA certificate file (trusted-ca-file)")
	fs.StringVar(&e.cert, "etcd-cert", "", "etcd client certificate file (cert-file)")
	fs.StringVar(&e.key, "etcd-key", "", "etcd client key file (key-file)")
	fs.StringVar(&e.prefix, "etcd-prefix", policystore.DefaultPrefix, "etcd key prefix of the policies and node statuses")
	fs.DurationVar(&e.timeout, "etcd-timeout", 5*time.Second, "deadline of each etcd call")
}

// Set reports whether etcd was given at all (endpoints or a configuration file).
func (e *Etcd) Set() bool { return e.endpoints != "" || e.config != "" }

// StoreConfig is the validated configuration of policystore.Open.
func (e *Etcd) StoreConfig() (policystore.Config, error) {
	c := policystore.Config{Endpoints: SplitList(e.endpoints), CAFile: e.ca, CertFile: e.cert, KeyFile: e.key,
		Timeout: e.timeout, Prefix: e.prefix}
	if e.config != "" {
		var err error
		if c, err = policystore.ReadAgentConfig(e.config, c); err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}
