package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

// Ports is the kernel side of docker run -p: the published host ports of each endpoint.
type Ports interface {
	Publish(ctx context.Context, eid endpoint.ID, ctr netip.Addr, bs []endpoint.Binding) ([]endpoint.Mapping, error)
	Unpublish(ctx context.Context, eid endpoint.ID) error
}

// portBinding is one entry of Docker's com.docker.network.portmap option (moby libnetwork
// types.PortBinding as JSON: IPs as strings, "" for none).
type portBinding struct {
	Proto       uint8
	IP          string
	Port        uint16
	HostIP      string
	HostPort    uint16
	HostPortEnd uint16
}

// ParsePortmap decodes the portmap option of ProgramExternalConnectivity (or Join, CreateEndpoint)
// into bindings the node can publish, refusing the ones it cannot. A missing or empty option is no
// binding. Docker sends -p 8080:80 as HostPort 8080 (HostPortEnd 8080 or 0), -p 8080-8090:80 as the
// range, -P and -p 80 as HostPort 0, and the host address as given (empty: every address).
func ParsePortmap(opts map[string]any) ([]endpoint.Binding, error) {
	raw, ok := opts[portmapOption]
	if !ok || raw == nil {
		return nil, nil
	}
	buf, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("option %s: %w", portmapOption, err)
	}
	var pbs []portBinding
	if err := json.Unmarshal(buf, &pbs); err != nil {
		return nil, fmt.Errorf("option %s %s: %w", portmapOption, buf, err)
	}
	out := make([]endpoint.Binding, 0, len(pbs))
	for _, pb := range pbs {
		b := endpoint.Binding{Proto: endpoint.Proto(pb.Proto), Port: pb.Port, HostPort: pb.HostPort, HostPortEnd: pb.HostPortEnd}
		if pb.HostPortEnd == pb.HostPort {
			b.HostPortEnd = 0
		}
		if s := strings.TrimSpace(pb.HostIP); s != "" {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("publish %d/%s: host address %q: %w", pb.Port, b.Proto, s, err)
			}
			b.HostIP = ip.Unmap()
			if b.HostIP.IsUnspecified() && b.HostIP.Is6() {
				return nil, fmt.Errorf("publish %d/%s on [::]: IPv6 host addresses are not supported on a cilium network; publish on an IPv4 address (or none)", pb.Port, b.Proto)
			}
		}
		if err := b.Validate(); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Publish makes the bindings of eid reach its container on the node's addresses. Docker sends it in
// ProgramExternalConnectivity, once the endpoint is its sandbox's gateway; repeated calls are
// answered from what is in place.
func (d *Driver) Publish(ctx context.Context, eid endpoint.ID, bs []endpoint.Binding) ([]endpoint.Mapping, error) {
	if len(bs) == 0 {
		return nil, nil // Docker 20.10 sends every gateway endpoint here, -p or not
	}
	defer d.working(eid)()
	cfg, err := d.agent.Config(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.BPFHostRouting {
		return nil, errBPFHostRouting
	}
	link, err := d.linkOf(ctx, eid)
	if err != nil {
		return nil, err
	}
	if !link.IPv4.IsValid() {
		return nil, fmt.Errorf("publishing ports needs an IPv4 address: endpoint %s has none", eid)
	}
	return d.ports.Publish(ctx, eid, link.IPv4, bs)
}

// errBPFHostRouting refuses -p on an agent whose BPF host routing takes the containers' replies past
// the node's conntrack, which the port mappings' NAT needs to reverse them.
var errBPFHostRouting = errors.New("publishing ports (-p) does not work with the agent's BPF host routing: " +
	"the containers' replies bypass the node's conntrack, which the port mappings need; run cilium-agent with " +
	"--enable-host-legacy-routing=true (or without kube-proxy replacement, as the cilium-docker stack does)")

// Unpublish removes what Publish made for eid; nothing published is success.
func (d *Driver) Unpublish(ctx context.Context, eid endpoint.ID) error {
	defer d.working(eid)()
	return d.ports.Unpublish(ctx, eid)
}
