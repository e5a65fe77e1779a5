package dockerapi

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// Engine is what the status command shows of the Docker engine.
type Engine struct {
	Version, APIVersion string
	// NetworkPlugins are the network drivers the engine has registered (docker info): a legacy plugin
	// such as this one is listed once the engine found its socket, at the first network that uses it.
	NetworkPlugins []string
}

// Engine reads the engine's version and registered network drivers.
func (c *Client) Engine(ctx context.Context) (_ Engine, err error) {
	defer c.observed("engine info", time.Now(), &err)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.ready(ctx); err != nil {
		return Engine{}, err
	}
	v, err := c.c.ServerVersion(ctx)
	if err != nil {
		return Engine{}, fmt.Errorf("docker api %s: version: %w", c.host, err)
	}
	info, err := c.c.Info(ctx)
	if err != nil {
		return Engine{}, fmt.Errorf("docker api %s: info: %w", c.host, err)
	}
	return Engine{Version: v.Version, APIVersion: v.APIVersion, NetworkPlugins: info.Plugins.Network}, nil
}

// NetworkSummary is one network of a driver with the containers joined to it.
type NetworkSummary struct {
	ID, Name, Driver, IPAMDriver string
	Subnets                      []string
	Members                      []Member
}

// Member is a container joined to a network.
type Member struct {
	ContainerID, Name, EndpointID, IPv4 string
}

// NetworksOf lists the networks whose network driver or IPAM driver is driver, each with its joined
// containers (network inspect: no container is inspected), sorted by name.
func (c *Client) NetworksOf(ctx context.Context, driver string) (_ []NetworkSummary, err error) {
	defer c.observed("list networks", time.Now(), &err)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	list, err := c.c.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs()})
	if err != nil {
		return nil, fmt.Errorf("docker api %s: list networks: %w", c.host, err)
	}
	var out []NetworkSummary
	for _, s := range list {
		if s.Driver != driver && s.IPAM.Driver != driver {
			continue
		}
		nw, err := c.c.NetworkInspect(ctx, s.ID, network.InspectOptions{})
		if err != nil {
			return nil, fmt.Errorf("docker api %s: inspect network %s: %w", c.host, s.Name, err)
		}
		n := NetworkSummary{ID: nw.ID, Name: nw.Name, Driver: nw.Driver, IPAMDriver: nw.IPAM.Driver}
		for _, cfg := range nw.IPAM.Config {
			n.Subnets = append(n.Subnets, cfg.Subnet)
		}
		for id, r := range nw.Containers {
			if strings.HasPrefix(id, "ep-") {
				continue // an endpoint not joined to a container (yet, or left by a failed teardown)
			}
			ip, _, _ := strings.Cut(r.IPv4Address, "/")
			n.Members = append(n.Members, Member{ContainerID: id, Name: r.Name, EndpointID: r.EndpointID, IPv4: ip})
		}
		sort.Slice(n.Members, func(i, j int) bool { return n.Members[i].Name < n.Members[j].Name })
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b NetworkSummary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
