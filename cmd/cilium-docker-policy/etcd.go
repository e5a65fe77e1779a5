package main

import (
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/policy/store"
)

// storeConfig is the validated policy/store configuration of the etcd flags.
func storeConfig(e *cliflags.Etcd) (store.Config, error) {
	c := store.Config{Endpoints: cliflags.SplitList(e.Endpoints), CAFile: e.CA, CertFile: e.Cert, KeyFile: e.Key,
		Timeout: e.Timeout, Prefix: e.Prefix}
	if e.Config != "" {
		var err error
		if c, err = store.ReadAgentConfig(e.Config, c); err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}
