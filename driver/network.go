package driver

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

// Docker's network options (moby libnetwork netlabel) as CreateNetwork carries them.
const (
	genericOption    = "com.docker.network.generic" // the -o k=v driver options, a map
	internalOption   = "com.docker.network.internal"
	enableIPv4Option = "com.docker.network.enable_ipv4"
	enableIPv6Option = "com.docker.network.enable_ipv6"
)

// ParseNetwork validates a CreateNetwork request and refuses the networks this driver cannot serve as
// asked, before Docker records them: a refused create leaves nothing behind (Docker releases the pools
// it requested). It needs no agent: everything it checks is in the request, and the address spaces
// are the IPAM's.
func (d *Driver) ParseNetwork(r *network.CreateNetworkRequest) (endpoint.NetworkID, error) {
	nid, err := endpoint.ParseNetworkID(r.NetworkID)
	if err != nil {
		return endpoint.NetworkID{}, fmt.Errorf("network: %w", err)
	}
	if err := checkIPAM(r.IPv4Data, r.IPv6Data, d.spaces); err != nil {
		return endpoint.NetworkID{}, err
	}
	if err := checkOptions(r.Options); err != nil {
		return endpoint.NetworkID{}, err
	}
	return nid, nil
}

// checkIPAM refuses a network whose addresses come from another IPAM driver. Forgetting
// --ipam-driver cilium gives the network Docker's default IPAM, whose 172.x pools every node hands out
// again: Cilium knows none of those addresses, and containers on two nodes collide. Each pool carries
// the address space of the IPAM driver that gave it; the cilium IPAM's are its own.
func checkIPAM(v4, v6 []*network.IPAMData, ours []string) error {
	if len(v4) == 0 && len(v6) == 0 {
		return fmt.Errorf("network has no address pool: create it with --ipam-driver cilium")
	}
	for _, d := range slices.Concat(v4, v6) {
		if d == nil {
			continue
		}
		if !slices.Contains(ours, d.AddressSpace) {
			return fmt.Errorf("network's pool %s comes from another IPAM driver (address space %q): "+
				"create the network with --ipam-driver cilium; other IPAM drivers hand out addresses cilium-agent "+
				"does not know, which collide between nodes", d.Pool, d.AddressSpace)
		}
	}
	return nil
}

// checkOptions refuses options the driver would otherwise ignore in silence.
func checkOptions(opts map[string]any) error {
	if v, _ := opts[internalOption].(bool); v {
		return fmt.Errorf("--internal is not supported on a cilium network: the driver cannot cut its containers " +
			"off from the outside; leave --internal off and deny egress to the world with a Cilium policy")
	}
	generic, _ := opts[genericOption].(map[string]any)
	var keys []string
	for k := range generic {
		// Docker reads these itself (they may arrive as -o as well as --ipv4/--ipv6).
		if k != enableIPv4Option && k != enableIPv6Option {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		return fmt.Errorf("driver option %s is not supported by the cilium driver, which takes no -o options: "+
			"addresses, MTU and routing come from cilium-agent", strings.Join(keys, ", "))
	}
	return nil
}
