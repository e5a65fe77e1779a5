package driver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// cleanupTimeout bounds the removal of a half-made agent endpoint after a failed Join.
const cleanupTimeout = 10 * time.Second

// Leave deletes the agent endpoint; one that is gone (or never made: Leave after a failed Join) is
// success.
func (d *Driver) Leave(ctx context.Context, eid endpoint.ID) error {
	defer d.working(eid)()
	if err := d.builds.Forget(ctx, eid); err != nil {
		return err
	}
	link, err := d.links.Get(ctx, eid)
	if err != nil && !errors.Is(err, endpoint.ErrNotFound) {
		return err
	}
	return d.deleteAgentEndpoint(ctx, eid, link)
}

// removeAgentEndpoint undoes a failed endpoint create, on a context of its own: the request's may be
// what ran out.
func (d *Driver) removeAgentEndpoint(eid endpoint.ID, link *endpoint.Link) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := d.deleteAgentEndpoint(ctx, eid, link); err != nil {
		return fmt.Errorf("remove half-made endpoint: %w", err)
	}
	return nil
}

// deleteAgentEndpoint deletes the agent endpoint of Docker endpoint eid, if there is one, by its
// attachment (never by a numeric ID: the agent reuses those), and records that the agent freed the
// addresses of link (nil when the link is gone) with it.
func (d *Driver) deleteAgentEndpoint(ctx context.Context, eid endpoint.ID, link *endpoint.Link) error {
	deleted, err := d.agent.DeleteEndpoint(ctx, AgentID(eid))
	if err == nil {
		d.egress.leave(ctx, eid)
	}
	if err != nil || !deleted || link == nil {
		return err
	}
	for _, ip := range []netip.Addr{link.IPv4, link.IPv6} {
		if ip.IsValid() {
			d.track.Address(ip)() // freed by the agent just now: a stale allocation list may still show it
			d.addrs.FreedByAgent(ip)
		}
	}
	return nil
}

// AgentID addresses the agent endpoint of Docker endpoint eid by its CNI attachment: the container-id
// and container-interface-name it was created with (see attachment.changeRequest), both derived from eid.
// Never by the numeric endpoint ID across calls: the agent reuses those.
func AgentID(eid endpoint.ID) string {
	return agent.AttachmentID(endpoint.Attachment(eid))
}
