package store

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"sigs.k8s.io/yaml"
)

// DefaultPrefix is where the policies and node statuses live in etcd, apart from Cilium's own keys.
const DefaultPrefix = "cilium-docker/policy/v1/"

// Config is how to reach etcd: the same endpoints and TLS files as the agent's (its
// --kvstore-opt etcd.address= or the etcd.config= file, see ReadAgentConfig).
type Config struct {
	Endpoints                 []string
	CAFile, CertFile, KeyFile string
	// Timeout bounds each call (dial included).
	Timeout time.Duration
	// Prefix is the key prefix (DefaultPrefix when empty).
	Prefix string
}

// agentFile is the part of the agent's etcd.config file (etcd's client configuration) the plugin reads.
type agentFile struct {
	Endpoints     []string `json:"endpoints"`
	TrustedCAFile string   `json:"trusted-ca-file"`
	CAFile        string   `json:"ca-file"` // the older spelling
	CertFile      string   `json:"cert-file"`
	KeyFile       string   `json:"key-file"`
}

// ReadAgentConfig reads the agent's etcd.config file into c's endpoints and TLS files; values already
// set in c win.
func ReadAgentConfig(path string, c Config) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("etcd config: %w", err)
	}
	var f agentFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return c, fmt.Errorf("etcd config %s: %w", path, err)
	}
	if len(c.Endpoints) == 0 {
		c.Endpoints = f.Endpoints
	}
	if c.CAFile == "" {
		c.CAFile = f.TrustedCAFile
		if c.CAFile == "" {
			c.CAFile = f.CAFile
		}
	}
	if c.CertFile == "" {
		c.CertFile = f.CertFile
	}
	if c.KeyFile == "" {
		c.KeyFile = f.KeyFile
	}
	return c, nil
}

// Validate checks the configuration before anything dials.
func (c Config) Validate() error {
	var errs []error
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("no etcd endpoint: set --etcd-endpoints or --etcd-config"))
	}
	for _, e := range c.Endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("etcd endpoint %q: want http://host:port or https://host:port", e))
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("etcd TLS: give both a certificate and a key, or neither"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("etcd timeout %s: want a positive duration", c.Timeout))
	}
	if c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
		errs = append(errs, fmt.Errorf("etcd prefix %q: want a trailing /", c.Prefix))
	}
	return errors.Join(errs...)
}

func (c Config) tls() (*tls.Config, error) {
	if c.CAFile == "" && c.CertFile == "" {
		return nil, nil
	}
	info := transport.TLSInfo{TrustedCAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile}
	t, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd TLS: %w", err)
	}
	return t, nil
}
