package dockerapi

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// Network is a Docker network whose endpoints or addresses may be this plugin's: its network driver or
// its IPAM driver is the plugin's.
type Network struct {
	ID string
	// Endpoints are every endpoint Docker's store holds on the network, joined or not.
	Endpoints []Endpoint
	// Aux are the network's --aux-address addresses, which Docker holds for the network's life.
	Aux []netip.Addr
}

// Endpoint is one endpoint of a network as Docker's store has it.
type Endpoint struct {
	ID, Name   string // Name is the container's name
	IPv4, IPv6 netip.Addr
	// Joined: the endpoint is in a container's sandbox. An endpoint that is not is either joining
	// (CreateEndpoint done, Join pending) or stale (Docker could not delete it: the plugin was down).
	Joined bool
}

// Networks lists every network whose network or IPAM driver is driver, each with all its endpoints
// and aux addresses: one list and one inspect per such network, each under the call's deadline. A
// network removed between the two is left out; any other failure fails the whole answer, so that a
// caller never mistakes a partial answer for a complete one.
func (c *Client) Networks(ctx context.Context, driver string) ([]Network, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, c.timeout)
	list, err := c.c.NetworkList(lctx, network.ListOptions{})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("docker api %s: list networks: %w", c.host, err)
	}
	var out []Network
	for _, s := range list {
		if s.Driver != driver && s.IPAM.Driver != driver {
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, c.timeout)
		nw, err := c.c.NetworkInspect(ictx, s.ID, network.InspectOptions{})
		cancel()
		if cerrdefs.IsNotFound(err) {
			continue // removed since the list: it holds nothing any more
		}
		if err != nil {
			return nil, fmt.Errorf("docker api %s: inspect network %s: %w", c.host, s.ID, err)
		}
		n, err := networkFrom(nw)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func networkFrom(nw network.Inspect) (Network, error) {
	n := Network{ID: nw.ID}
	for key, r := range nw.Containers {
		ep := Endpoint{ID: r.EndpointID, Name: r.Name, Joined: !strings.HasPrefix(key, "ep-")}
		var err error
		if ep.IPv4, err = prefixAddr(r.IPv4Address); err != nil {
			return Network{}, fmt.Errorf("network %s endpoint %s: ipv4: %w", nw.ID, r.EndpointID, err)
		}
		if ep.IPv6, err = prefixAddr(r.IPv6Address); err != nil {
			return Network{}, fmt.Errorf("network %s endpoint %s: ipv6: %w", nw.ID, r.EndpointID, err)
		}
		n.Endpoints = append(n.Endpoints, ep)
	}
	for _, cfg := range nw.IPAM.Config {
		for name, s := range cfg.AuxAddress {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return Network{}, fmt.Errorf("network %s aux address %s=%q: %w", nw.ID, name, s, err)
			}
			n.Aux = append(n.Aux, a.Unmap())
		}
	}
	return n, nil
}

// prefixAddr parses Docker's "10.77.0.5/32" (or "") form.
func prefixAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Addr{}, err
	}
	return p.Addr().Unmap(), nil
}

// ContainerNames returns the names of every container Docker has, in any state (created, running,
// paused, restarting, exited, dead).
func (c *Client) ContainerNames(ctx context.Context) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	list, err := c.c.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("docker api %s: list containers: %w", c.host, err)
	}
	out := make(map[string]bool, len(list))
	for _, s := range list {
		for _, n := range s.Names {
			out[trimSlash(n)] = true
		}
	}
	return out, nil
}
