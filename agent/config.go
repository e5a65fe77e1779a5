package agent

import (
	"context"
	"fmt"
	"math"
	"net/netip"

	"github.com/cilium/cilium/api/v1/client/daemon"
	"github.com/cilium/cilium/api/v1/models"
)

// Family is the agent's addressing for one IP family.
type Family struct {
	Enabled bool
	// Range is the node's allocation range (the agent's --ipv4-range).
	Range netip.Prefix
	// Router is the cilium_host address: the containers' gateway and next hop.
	Router netip.Addr
}

// IPFamily names an IP family in the agent's API; the zero value is IPv4.
type IPFamily int

// The IP families.
const (
	IPv4 IPFamily = iota
	IPv6
)

// String is the family as the agent's API spells it.
func (f IPFamily) String() string {
	if f == IPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// Config is what the plugin needs from the agent's configuration.
type Config struct {
	IPv4, IPv6   Family
	RouteMTU     int
	DatapathMode string
	// ClusterName is the agent's --cluster-name: the value policies expect in the
	// k8s:io.cilium.k8s.policy.cluster label of the cluster's endpoints; empty when the agent does not say.
	ClusterName string
	// ClusterID is the agent's --cluster-id (0 when it does not say): the identity range its cluster
	// allocates from, which the identity garbage collector keeps to.
	ClusterID uint32
	// LabelPrefixes and LabelPrefixFile are the agent's identity label rules (--labels,
	// --label-prefix-file); both empty: the agent's default rules. See NewLabelFilter.
	LabelPrefixes   []string
	LabelPrefixFile string
	// BPFHostRouting: the agent routes traffic to and from its endpoints in BPF, past the node's
	// netfilter and conntrack (its EnableHostLegacyRouting, as it resolved it at start: legacy unless
	// kube-proxy replacement is on, BPF masquerade too, and the kernel can). False when it does not say.
	BPFHostRouting bool
}

// Config reads the agent's configuration (GET /config).
func (c *Client) Config(ctx context.Context) (*Config, error) {
	var st *models.DaemonConfigurationStatus
	err := c.do(ctx, c.timeouts.Call, "get config", "", func(ctx context.Context) error {
		resp, err := c.api.Daemon.GetConfig(daemon.NewGetConfigParamsWithContext(ctx))
		if err != nil {
			return err
		}
		if resp.Payload == nil || resp.Payload.Status == nil {
			return fmt.Errorf("empty configuration")
		}
		st = resp.Payload.Status
		return nil
	})
	if err != nil {
		return nil, err
	}
	return parseConfig(st)
}

func parseConfig(st *models.DaemonConfigurationStatus) (*Config, error) {
	cfg := &Config{RouteMTU: int(st.RouteMTU), DatapathMode: string(st.DatapathMode)}
	// The agent reports its whole option.Config under its Go field names (daemon/restapi/config.go).
	if name, ok := st.DaemonConfigurationMap["ClusterName"].(string); ok {
		cfg.ClusterName = name
	}
	if id, ok := st.DaemonConfigurationMap["ClusterID"].(float64); ok && id >= 0 && id <= math.MaxUint32 {
		cfg.ClusterID = uint32(id)
	}
	if st.Addressing == nil {
		return nil, fmt.Errorf("agent configuration has no addressing")
	}
	var err error
	if cfg.IPv4, err = parseFamily("ipv4", st.Addressing.IPv4); err != nil {
		return nil, err
	}
	if cfg.IPv6, err = parseFamily("ipv6", st.Addressing.IPv6); err != nil {
		return nil, err
	}
	// The agent reports its whole option.DaemonConfig in the configuration map, by field name.
	if l, ok := st.DaemonConfigurationMap["Labels"].([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				cfg.LabelPrefixes = append(cfg.LabelPrefixes, s)
			}
		}
	}
	cfg.LabelPrefixFile, _ = st.DaemonConfigurationMap["LabelPrefixFile"].(string)
	if legacy, ok := st.DaemonConfigurationMap["EnableHostLegacyRouting"].(bool); ok {
		cfg.BPFHostRouting = !legacy
	}
	return cfg, nil
}

func parseFamily(name string, e *models.NodeAddressingElement) (Family, error) {
	if e == nil || !e.Enabled {
		return Family{}, nil
	}
	r, err := netip.ParsePrefix(e.AllocRange)
	if err != nil {
		return Family{}, fmt.Errorf("agent %s alloc-range %q: %w", name, e.AllocRange, err)
	}
	ip, err := netip.ParseAddr(e.IP)
	if err != nil {
		return Family{}, fmt.Errorf("agent %s router address %q: %w", name, e.IP, err)
	}
	return Family{Enabled: true, Range: r.Masked(), Router: ip}, nil
}
