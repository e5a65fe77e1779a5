package ipam

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/docker/go-plugins-helpers/ipam"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/server"
)

// capabilities extends the library's answer, which lacks RequiresRequestReplay.
type capabilities struct {
	RequiresMACAddress    bool
	RequiresRequestReplay bool
}

type empty struct{}

// endpointNameKey is the container's name in RequestAddress options (Docker 29+).
const endpointNameKey = "com.docker.network.endpoint.name"

// Register adds the IpamDriver methods to s.
func Register(s *server.Server, c *Core) {
	server.Handle(s, "IpamDriver.GetCapabilities", func(context.Context, *empty) (*capabilities, error) {
		return &capabilities{}, nil
	})
	server.Handle(s, "IpamDriver.GetDefaultAddressSpaces", func(context.Context, *empty) (*ipam.AddressSpacesResponse, error) {
		return &ipam.AddressSpacesResponse{LocalDefaultAddressSpace: LocalAddressSpace, GlobalDefaultAddressSpace: GlobalAddressSpace}, nil
	})
	server.Handle(s, "IpamDriver.RequestPool", func(ctx context.Context, r *ipam.RequestPoolRequest) (*ipam.RequestPoolResponse, error) {
		fam := agent.IPv4
		if r.V6 {
			fam = agent.IPv6
		}
		p, err := c.RequestPool(ctx, fam, r.Pool, r.SubPool)
		if err != nil {
			return nil, err
		}
		return &ipam.RequestPoolResponse{PoolID: p.ID, Pool: p.Prefix.String(),
			Data: map[string]string{gatewayKey: p.Gateway.String()}}, nil
	})
	server.Handle(s, "IpamDriver.ReleasePool", func(ctx context.Context, r *ipam.ReleasePoolRequest) (*empty, error) {
		return nil, c.ReleasePool(ctx, r.PoolID)
	})
	server.Handle(s, "IpamDriver.RequestAddress", func(ctx context.Context, r *ipam.RequestAddressRequest) (*ipam.RequestAddressResponse, error) {
		want, err := parseAddr(r.Address)
		if err != nil {
			return nil, err
		}
		// A container's first call: at boot it may come before the agent is up.
		ctx = agent.AwaitStartup(ctx)
		var p netip.Prefix
		if r.Options["RequestAddressType"] == gatewayKey {
			p, err = c.RequestGateway(ctx, r.PoolID, want)
		} else {
			p, err = c.RequestAddressFor(ctx, r.PoolID, want, r.Options[endpointNameKey])
		}
		if err != nil {
			return nil, err
		}
		return &ipam.RequestAddressResponse{Address: p.String()}, nil
	})
	server.Handle(s, "IpamDriver.ReleaseAddress", func(ctx context.Context, r *ipam.ReleaseAddressRequest) (*empty, error) {
		ip, err := parseAddr(r.Address)
		if err != nil {
			return nil, err
		}
		if !ip.IsValid() {
			return nil, fmt.Errorf("release of pool %q names no address", r.PoolID)
		}
		return nil, c.ReleaseAddress(ctx, r.PoolID, ip)
	})
}

// parseAddr accepts "", an address, or an address with a mask (Docker sends both forms).
func parseAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("address %q: %w", s, err)
		}
		return p.Addr(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("address %q: %w", s, err)
	}
	return a.Unmap(), nil
}
