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

// Network is a Docker network with every endpoint and aux address Docker's store holds on it.
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

// Networks lists every network Docker has, whatever its driver, each with all its endpoints and aux
// addresses: one list and one inspect per network, each under the call's deadline. Every driver, not
// only this process's --driver-name: another instance of the plugin on the node (the managed plugin
// beside the process one) serves networks under another name and makes the same agent endpoints, links
// and addresses, and endpoint IDs are random, so a builtin driver's endpoint explains nothing of ours by
// accident. The Engine API has no cheaper complete read: the network list leaves the endpoints out,
// and a container list shows the endpoints of containers in a sandbox only, not a starting or stopped
// container's record nor the aux addresses. A network removed between the list and its inspect is left
// out (it holds no endpoint any more); any other failure fails the whole answer, so that a caller never
// mistakes a partial answer for a complete one.
func (c *Client) Networks(ctx context.Context) ([]Network, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, c.timeout)
	list, err := c.c.NetworkList(lctx, network.ListOptions{})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("docker api %s: list networks: %w", c.host, err)
	}
	out := make([]Network, 0, len(list))
	for _, s := range list {
		ictx, cancel := context.WithTimeout(ctx, c.timeout)
		nw, err := c.c.NetworkInspect(ictx, s.ID, network.InspectOptions{})
		cancel()
		if cerrdefs.IsNotFound(err) {
			continue // removed since the list: it holds nothing any more
		}
		if err != nil {
			return nil, fmt.Errorf("docker api %s: inspect network %s (driver %q): %w", c.host, s.ID, s.Driver, err)
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
