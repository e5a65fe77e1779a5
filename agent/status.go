package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/cilium/api/v1/models"
)

// ErrNotReady is wrapped when the agent answers but does not report itself Ok: a starting agent's
// endpoint and allocation lists may still be incomplete.
var ErrNotReady = errors.New("cilium-agent not ready")

// Allocations returns every address of the agent's default pool with its owner (GET /healthz,
// ipam.allocations; addresses of other pools are left out). The agent refreshes that list every 5 s
// (its status-collector-interval), so a change shows there up to that late. It fails, wrapping
// ErrNotReady, unless the agent reports itself Ok with an IPAM status: only then is the list complete.
func (c *Client) Allocations(ctx context.Context) (map[netip.Addr]string, error) {
	st, err := c.healthz(ctx)
	if err != nil {
		return nil, err
	}
	if st == nil || st.Cilium == nil || st.Cilium.State != models.StatusStateOk {
		state := "none"
		if st != nil && st.Cilium != nil {
			state = st.Cilium.State + " " + st.Cilium.Msg
		}
		return nil, fmt.Errorf("cilium-agent at %s reports state %s: %w", c.addr, state, ErrNotReady)
	}
	if st.Ipam == nil {
		return nil, fmt.Errorf("cilium-agent at %s reports no IPAM status: %w", c.addr, ErrNotReady)
	}
	out := make(map[netip.Addr]string, len(st.Ipam.Allocations))
	for s, owner := range st.Ipam.Allocations {
		ip, err := netip.ParseAddr(s) // "pool/ip" for other pools: not ours
		if err != nil {
			continue
		}
		out[ip.Unmap()] = owner
	}
	return out, nil
}
