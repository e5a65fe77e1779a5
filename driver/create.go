package driver

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

// macOption is Docker's per-endpoint MAC option: base64 of the six bytes.
const macOption = "com.docker.network.endpoint.macaddress"

// sysctlsOption is Docker's per-endpoint sysctls option (27.0+): "net.X.Y.IFNAME.Z=V,…". Docker 29
// moves a container's `--sysctl net.ipv6.conf.eth0.…` here for API clients older than 1.48.
const sysctlsOption = "com.docker.network.endpoint.sysctls"

// CreateArgs is a validated CreateEndpoint request.
type CreateArgs struct {
	NetworkID  endpoint.NetworkID
	EndpointID endpoint.ID
	IPv4, IPv6 netip.Addr
	MAC        net.HardwareAddr // nil when Docker chose none
}

// ParseCreate validates a CreateEndpoint request before anything touches the kernel.
func ParseCreate(nid, eid, addr4, addr6, mac string, opts map[string]any) (CreateArgs, error) {
	var (
		a   CreateArgs
		err error
	)
	if a.NetworkID, a.EndpointID, err = parseIDs(nid, eid); err != nil {
		return a, err
	}
	if a.IPv4, err = parseIfaceAddr(addr4); err != nil {
		return a, err
	}
	if a.IPv6, err = parseIfaceAddr(addr6); err != nil {
		return a, err
	}
	if a.IPv6.IsValid() && ipv6Disabled(opts) {
		// Docker sets the address, the sysctl removes it, and Docker then releases it through the IPAM
		// alone (29.0): an endpoint made with it would keep at the agent, and route, an address the
		// container no longer has and Docker may hand out again. Without it, the IPAM's ReleaseAddress
		// frees it at the agent, as for any address no endpoint took.
		if !a.IPv4.IsValid() {
			return a, fmt.Errorf("endpoint %s: IPv6 is disabled on its interface (%s …disable_ipv6=1) and the network has no IPv4: "+
				"nothing to attach", eid, sysctlsOption)
		}
		a.IPv6 = netip.Addr{}
	}
	if !a.IPv4.IsValid() && !a.IPv6.IsValid() {
		return a, fmt.Errorf("endpoint %s has no address: the network must use the cilium IPAM driver (--ipam-driver cilium)", eid)
	}
	if a.MAC, err = parseMAC(mac, opts); err != nil {
		return a, err
	}
	return a, nil
}

// CreateEndpoint makes the endpoint's veth pair. It does not call the agent: dockerd serialises
// CreateEndpoint per network, so it must stay short. The MTU comes from the configuration cache, which
// the IPAM's RequestAddress refreshed a moment before under the same per-network lock. It returns the container-side MAC when Docker
// chose none, so that docker inspect shows it.
func (d *Driver) CreateEndpoint(ctx context.Context, a CreateArgs) (net.HardwareAddr, error) {
	defer d.working(a.EndpointID, a.IPv4, a.IPv6)()
	cfg, err := d.agent.Config(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.DatapathMode != "" && cfg.DatapathMode != "veth" {
		return nil, fmt.Errorf("cilium-agent datapath mode %q is not supported: this plugin needs veth", cfg.DatapathMode)
	}
	link, err := d.links.Create(ctx, endpoint.Spec{EndpointID: a.EndpointID, NetworkID: a.NetworkID,
		MTU: cfg.RouteMTU, ContainerMAC: a.MAC, IPv4: a.IPv4, IPv6: a.IPv6})
	if err != nil {
		return nil, err
	}
	if a.MAC != nil {
		return nil, nil // never echo what Docker sent
	}
	return link.ContainerMAC, nil
}

// DeleteEndpoint removes the endpoint's veth pair through the reaper; one that is gone is success.
func (d *Driver) DeleteEndpoint(ctx context.Context, eid endpoint.ID) error {
	defer d.working(eid)()
	if err := d.builds.Forget(ctx, eid); err != nil {
		return err
	}
	// Revoke comes first, but Docker 29 sends it only to an endpoint its current process saw become
	// the gateway: published ports go with the endpoint at the latest.
	perr := d.ports.Unpublish(ctx, eid)
	return errors.Join(perr, d.reap.Delete(ctx, eid))
}

// parseIDs parses the network and endpoint IDs of a request, once, where it arrives: every method below
// takes the types and checks them no more.
func parseIDs(nid, eid string) (endpoint.NetworkID, endpoint.ID, error) {
	n, err := endpoint.ParseNetworkID(nid)
	if err != nil {
		return endpoint.NetworkID{}, endpoint.ID{}, fmt.Errorf("network: %w", err)
	}
	e, err := endpoint.ParseID(eid)
	if err != nil {
		return endpoint.NetworkID{}, endpoint.ID{}, fmt.Errorf("endpoint: %w", err)
	}
	return n, e, nil
}

func parseIfaceAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface address %q: %w", s, err)
	}
	return p.Addr(), nil
}

// parseMAC takes the MAC from the interface or, failing that, from Docker's base64 option.
func parseMAC(s string, opts map[string]any) (net.HardwareAddr, error) {
	if s != "" {
		m, err := net.ParseMAC(s)
		if err != nil || len(m) != 6 {
			return nil, fmt.Errorf("mac address %q: not a 6-byte MAC", s)
		}
		return m, nil
	}
	v, ok := opts[macOption]
	if !ok || v == nil {
		return nil, nil
	}
	b64, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("option %s: want a base64 string, got %T", macOption, v)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != 6 {
		return nil, fmt.Errorf("option %s %q: not a base64 6-byte MAC", macOption, b64)
	}
	return net.HardwareAddr(b), nil
}

// ipv6Disabled reports whether the endpoint's sysctls turn IPv6 off on its interface.
func ipv6Disabled(opts map[string]any) bool {
	v, _ := opts[sysctlsOption].(string)
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && strings.EqualFold(k, "net.ipv6.conf.IFNAME.disable_ipv6") && strings.TrimSpace(val) == "1" {
			return true
		}
	}
	return false
}
