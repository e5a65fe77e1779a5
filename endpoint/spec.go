package endpoint

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// MTU bounds a veth accepts (ETH_MIN_MTU for IPv4, ETH_MAX_MTU).
const (
	minMTU = 68
	maxMTU = 65535
)

// Spec is what CreateEndpoint asks for.
type Spec struct {
	EndpointID   ID
	NetworkID    NetworkID
	MTU          int              // from the agent's config (routeMTU); 0 = kernel default
	ContainerMAC net.HardwareAddr // nil = MACFor(id, ContainerSide)
	IPv4, IPv6   netip.Addr       // addresses Docker assigned (may be invalid/zero when absent)
}

// Link is the veth pair of one Docker endpoint as the kernel has it.
type Link struct {
	Names                         // Host and Container interface names
	HostIndex    int              // ifindex of the host side in the node's netns
	HostMAC      net.HardwareAddr // MAC of the host side
	ContainerMAC net.HardwareAddr // MAC of the container side (recorded in the alias)
	MTU          int              // MTU of the host side (the container side was created equal)
	NetworkID    NetworkID        // Docker network ID (recorded in the alias)
	IPv4, IPv6   netip.Addr       // read back from the host link's alias; invalid when absent
}

// validate checks a Spec before any kernel work; the errors name the offending value. The IDs were
// parsed where the request arrived: only a zero one (no parse at all) is refused here.
func (s Spec) validate() error {
	if s.EndpointID.IsZero() {
		return errZeroID("endpoint")
	}
	if s.NetworkID.IsZero() {
		return errZeroID("network")
	}
	if s.MTU != 0 && (s.MTU < minMTU || s.MTU > maxMTU) {
		return fmt.Errorf("mtu %d: want 0 (kernel default) or %d..%d", s.MTU, minMTU, maxMTU)
	}
	if m := s.ContainerMAC; m != nil {
		if len(m) != 6 {
			return fmt.Errorf("container mac %q: want 6 bytes, got %d", m, len(m))
		}
		if m[0]&0x01 != 0 {
			return fmt.Errorf("container mac %q: multicast address", m)
		}
		if [6]byte(m) == [6]byte{} {
			return fmt.Errorf("container mac %q: all zero", m)
		}
	}
	return checkAddrs(s.IPv4, s.IPv6)
}

// containerMAC is the MAC the container side gets: the one Docker sent, else a derived one.
func (s Spec) containerMAC() net.HardwareAddr {
	if s.ContainerMAC != nil {
		return s.ContainerMAC
	}
	return MACFor(s.EndpointID, ContainerSide)
}

// state is what the host link's alias will record for s.
func (s Spec) state() aliasState {
	return aliasState{NetworkID: s.NetworkID, IPv4: s.IPv4, IPv6: s.IPv6, ContainerMAC: s.containerMAC()}
}

// veth is the netlink request that creates the pair for s in one message: both names, both MACs and
// the MTU on both ends. (The kernel ignores an alias in a link create: Create sets it next, and a
// process killed in between leaves an unfinished pair, see ListUnfinished.) Equivalent to:
// `ip link add $host mtu $mtu address $hostmac type veth peer name $container mtu $mtu address $mac`.
func (s Spec) veth(n Names) *netlink.Veth {
	attrs := netlink.NewLinkAttrs() // TxQLen -1: keep the kernel's default queue length
	attrs.Name = n.Host
	attrs.MTU = s.MTU // 0 = not sent; the peer inherits MTU from LinkAttrs
	attrs.HardwareAddr = MACFor(s.EndpointID, HostSide)
	v := netlink.NewVeth(attrs)
	v.PeerName = n.Container
	v.PeerHardwareAddr = s.containerMAC()
	return v
}

// linkFrom combines the kernel's view of a host link with the state its alias recorded.
func linkFrom(host netlink.Link, st aliasState) *Link {
	a := host.Attrs()
	return &Link{
		Names:        namesFromHost(a.Name),
		HostIndex:    a.Index,
		HostMAC:      a.HardwareAddr,
		ContainerMAC: st.ContainerMAC,
		MTU:          a.MTU,
		NetworkID:    st.NetworkID,
		IPv4:         st.IPv4,
		IPv6:         st.IPv6,
	}
}
