package driver

import (
	"net/netip"
	"slices"

	"github.com/cilium-docker/cilium-docker/agent"
)

// Route is a static route for the container.
type Route struct {
	Dst     netip.Prefix
	NextHop netip.Addr // invalid: directly connected
}

// routesVia makes the router reachable on the link and routes the cluster's pod ranges through it:
// this node's range and every other node's the agent knows (GET /cluster/nodes). A container on a
// cilium network and another one (the default bridge, say) then reaches containers on every node
// through Cilium, under its identity, even when the other network holds the default route; without
// them, traffic to other nodes would leave through that network, masqueraded, as the node. The
// default route itself comes from Docker through the Gateway answer, only when this network is the
// container's gateway network, so a second network does not collide with it. A range inside another
// is routed by the wider one only.
func routesVia(f agent.Family, nodes []netip.Prefix) []Route {
	ranges := append([]netip.Prefix{f.Range}, nodes...)
	slices.SortFunc(ranges, func(a, b netip.Prefix) int {
		if a.Bits() != b.Bits() {
			return a.Bits() - b.Bits() // widest first
		}
		return a.Addr().Compare(b.Addr())
	})
	out := []Route{{Dst: netip.PrefixFrom(f.Router, f.Router.BitLen())}}
	var kept []netip.Prefix
	for _, r := range ranges {
		if !r.IsValid() || r.Addr().Is4() != f.Router.Is4() || slices.ContainsFunc(kept, func(k netip.Prefix) bool {
			return k.Bits() <= r.Bits() && k.Contains(r.Addr())
		}) {
			continue
		}
		kept = append(kept, r)
		out = append(out, Route{Dst: r, NextHop: f.Router})
	}
	return out
}
