package main

import (
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/policystore"
)

// storeConfig is the validated policystore configuration of the etcd flags.
func storeConfig(e *cliflags.Etcd) (policystore.Config, error) {
	c := policystore.Config{Endpoints: cliflags.SplitList(e.Endpoints), CAFile: e.CA, CertFile: e.Cert, KeyFile: e.Key,
		Timeout: e.Timeout, Prefix: e.Prefix}
	if e.Config != "" {
		var err error
		if c, err = policystore.ReadAgentConfig(e.Config, c); err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}
