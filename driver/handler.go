package driver

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/docker/go-plugins-helpers/network"
	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/server"
)

type empty struct{}

// portmapOption carries docker run -p and -P (moby netlabel.PortMap).
const portmapOption = "com.docker.network.portmap"

// Register adds the NetworkDriver methods to s.
func Register(s *server.Server, d *Driver) {
	server.Handle(s, "NetworkDriver.GetCapabilities", func(context.Context, *empty) (*network.CapabilitiesResponse, error) {
		return &network.CapabilitiesResponse{Scope: "local", ConnectivityScope: "local"}, nil
	})
	server.Handle(s, "NetworkDriver.CreateNetwork", func(_ context.Context, r *network.CreateNetworkRequest) (*empty, error) {
		_, err := d.ParseNetwork(r)
		return nil, err
	})
	server.Handle(s, "NetworkDriver.DeleteNetwork", func(_ context.Context, r *network.DeleteNetworkRequest) (*empty, error) {
		return nil, validateNetwork(r.NetworkID)
	})
	server.Handle(s, "NetworkDriver.CreateEndpoint", func(ctx context.Context, r *network.CreateEndpointRequest) (*network.CreateEndpointResponse, error) {
		var addr4, addr6, mac string
		if r.Interface != nil {
			addr4, addr6, mac = r.Interface.Address, r.Interface.AddressIPv6, r.Interface.MacAddress
		}
		a, err := ParseCreate(r.NetworkID, r.EndpointID, addr4, addr6, mac, r.Options)
		if err != nil {
			return nil, err
		}
		m, err := d.CreateEndpoint(ctx, a)
		if err != nil {
			return nil, err
		}
		if m == nil {
			return &network.CreateEndpointResponse{}, nil
		}
		return &network.CreateEndpointResponse{Interface: &network.EndpointInterface{MacAddress: m.String()}}, nil
	})
	server.Handle(s, "NetworkDriver.DeleteEndpoint", func(ctx context.Context, r *network.DeleteEndpointRequest) (*empty, error) {
		_, eid, err := parseIDs(r.NetworkID, r.EndpointID)
		if err != nil {
			return nil, err
		}
		return nil, d.DeleteEndpoint(ctx, eid)
	})
	server.Handle(s, "NetworkDriver.EndpointOperInfo", func(_ context.Context, r *network.InfoRequest) (*network.InfoResponse, error) {
		if _, _, err := parseIDs(r.NetworkID, r.EndpointID); err != nil {
			return nil, err
		}
		return &network.InfoResponse{Value: map[string]string{}}, nil
	})
	server.Handle(s, "NetworkDriver.Join", func(ctx context.Context, r *network.JoinRequest) (*joinResponse, error) {
		nid, eid, err := parseIDs(r.NetworkID, r.EndpointID)
		if err != nil {
			return nil, err
		}
		if err := checkSandboxKey(r.SandboxKey); err != nil {
			return nil, err
		}
		j, err := d.Join(agent.AwaitStartup(ctx), nid, eid) // at boot it may come before the agent is up
		if err != nil {
			return nil, err
		}
		return encodeJoin(j), nil
	})
	server.Handle(s, "NetworkDriver.Leave", func(ctx context.Context, r *network.LeaveRequest) (*empty, error) {
		_, eid, err := parseIDs(r.NetworkID, r.EndpointID)
		if err != nil {
			return nil, err
		}
		return nil, d.Leave(ctx, eid)
	})
	server.Handle(s, "NetworkDriver.ProgramExternalConnectivity", func(ctx context.Context, r *network.ProgramExternalConnectivityRequest) (*empty, error) {
		nid, eid, err := parseIDs(r.NetworkID, r.EndpointID)
		if err != nil {
			return nil, err
		}
		bs, err := ParsePortmap(r.Options)
		if err != nil {
			return nil, err
		}
		ms, err := d.ProgramExternalConnectivity(agent.AwaitStartup(ctx), nid, eid, bs)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			// Docker shows a remote driver's mappings nowhere (docker port reads only its own
			// types): the log is where -P's chosen port is found.
			d.log.WithFields(logrus.Fields{"endpoint": eid, "mapping": m.String()}).Info("published port")
		}
		return nil, nil
	})
	server.Handle(s, "NetworkDriver.RevokeExternalConnectivity", func(ctx context.Context, r *network.RevokeExternalConnectivityRequest) (*empty, error) {
		_, eid, err := parseIDs(r.NetworkID, r.EndpointID)
		if err != nil {
			return nil, err
		}
		return nil, d.Unpublish(ctx, eid)
	})
	server.Handle(s, "NetworkDriver.DiscoverNew", func(context.Context, *network.DiscoveryNotification) (*empty, error) { return nil, nil })
	server.Handle(s, "NetworkDriver.DiscoverDelete", func(context.Context, *network.DiscoveryNotification) (*empty, error) { return nil, nil })
}

func validateNetwork(nid string) error {
	if _, err := endpoint.ParseNetworkID(nid); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	return nil
}

// checkSandboxKey refuses a Join sandbox key that is not a clean absolute path.
func checkSandboxKey(key string) error {
	if key == "" || !filepath.IsAbs(key) || filepath.Clean(key) != key {
		return fmt.Errorf("sandbox key %q is not a clean absolute path", key)
	}
	return nil
}

// joinResponse is the library's JoinResponse without empty gateway fields.
type joinResponse struct {
	InterfaceName         network.InterfaceName
	Gateway               string `json:",omitempty"`
	GatewayIPv6           string `json:",omitempty"`
	StaticRoutes          []*network.StaticRoute
	DisableGatewayService bool
}

func encodeJoin(j *Joined) *joinResponse {
	out := &joinResponse{InterfaceName: network.InterfaceName{SrcName: j.SrcName, DstPrefix: "eth"},
		DisableGatewayService: true}
	if j.Gateway.IsValid() {
		out.Gateway = j.Gateway.String()
	}
	if j.GatewayIPv6.IsValid() {
		out.GatewayIPv6 = j.GatewayIPv6.String()
	}
	for _, r := range j.Routes {
		sr := &network.StaticRoute{Destination: r.Dst.String(), RouteType: 1}
		if r.NextHop.IsValid() {
			sr.RouteType, sr.NextHop = 0, r.NextHop.String()
		}
		out.StaticRoutes = append(out.StaticRoutes, sr)
	}
	return out
}
