package agent

import (
	"context"
	"net/netip"

	"github.com/cilium/cilium/api/v1/client/daemon"
	"github.com/cilium/cilium/api/v1/models"
)

// NodeRanges are the pod ranges of the cluster's nodes, this one's included, per family.
type NodeRanges struct {
	IPv4, IPv6 []netip.Prefix
}

// NodeRanges reads the allocation range of every node the agent knows (GET /cluster/nodes, without a
// client ID: the whole list). Nodes share them through the kvstore, so this is the cluster's pod
// address space as this agent sees it now.
func (c *Client) NodeRanges(ctx context.Context) (NodeRanges, error) {
	var st *models.ClusterNodeStatus
	err := c.do(ctx, c.timeouts.Call, "list cluster nodes", "", func(ctx context.Context) error {
		resp, err := c.api.Daemon.GetClusterNodes(daemon.NewGetClusterNodesParamsWithContext(ctx))
		if err != nil {
			return err
		}
		st = resp.Payload
		return nil
	})
	if err != nil {
		return NodeRanges{}, err
	}
	var out NodeRanges
	if st == nil {
		return out, nil
	}
	for _, n := range st.NodesAdded {
		if n == nil || n.PrimaryAddress == nil {
			continue
		}
		for _, f := range []struct {
			e   *models.NodeAddressingElement
			dst *[]netip.Prefix
		}{{n.PrimaryAddress.IPv4, &out.IPv4}, {n.PrimaryAddress.IPv6, &out.IPv6}} {
			if f.e == nil || f.e.AllocRange == "" {
				continue
			}
			if p, err := netip.ParsePrefix(f.e.AllocRange); err == nil {
				*f.dst = append(*f.dst, p.Masked())
			}
		}
	}
	return out, nil
}
