package driver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/labels"
)

// cleanupTimeout bounds the removal of a half-made agent endpoint after a failed Join.
const cleanupTimeout = 10 * time.Second

// Route is a static route for the container.
type Route struct {
	Dst     netip.Prefix
	NextHop netip.Addr // invalid: directly connected
}

// Joined is what Docker needs to finish the join.
type Joined struct {
	SrcName       string // the container-side veth, which Docker moves into the sandbox
	Gateway       netip.Addr
	GatewayIPv6   netip.Addr
	Routes        []Route
	LabelsPending bool // Docker could not tell the labels yet: the label sync applies them
}

// Join creates the agent endpoint for the container behind eid, under the container's labels, and
// returns after the agent has built its datapath. If anything fails the half-made endpoint is removed
// again: after a failed Join Docker calls DeleteEndpoint and ReleaseAddress, not Leave.
func (d *Driver) Join(ctx context.Context, nid endpoint.NetworkID, eid endpoint.ID) (*Joined, error) {
	link, err := d.links.Get(ctx, eid)
	if errors.Is(err, endpoint.ErrNotFound) {
		return nil, fmt.Errorf("endpoint %s has no interface on this host: CreateEndpoint did not run here or it was deleted", eid)
	}
	if err != nil {
		return nil, err
	}
	if link.NetworkID != nid {
		return nil, fmt.Errorf("endpoint %s belongs to network %s, not %s", eid, link.NetworkID, nid)
	}
	cfg, err := d.agent.Config(ctx)
	if err != nil {
		return nil, err
	}
	lerr, err := d.ensureAgentEndpoint(ctx, nid, eid, link, cfg.ClusterName)
	if err != nil {
		return nil, err
	}
	for _, ip := range []netip.Addr{link.IPv4, link.IPv6} {
		if ip.IsValid() {
			d.addrs.Bound(ip)
		}
	}
	j := &Joined{SrcName: link.Container, LabelsPending: lerr != nil}
	if lerr != nil {
		d.log.WithError(lerr).WithField("endpoint", eid).
			Warn("container labels not known at join; the endpoint starts without them and gets them when the container starts")
	}
	if link.IPv4.IsValid() {
		j.Gateway = cfg.IPv4.Router
		j.Routes = append(j.Routes, routesVia(cfg.IPv4)...)
	}
	if link.IPv6.IsValid() {
		j.GatewayIPv6 = cfg.IPv6.Router
		j.Routes = append(j.Routes, routesVia(cfg.IPv6)...)
	}
	return j, nil
}

// ensureAgentEndpoint creates the agent endpoint of eid unless it exists already: dockerd repeats a
// Join whose answer it lost to a transport error, and the agent refuses a second endpoint for the
// same attachment. It creates first and reads only on that refusal, so a Join makes no endpoint
// read, which the agent rate-limits hardest (4/s). It returns why the container's labels are
// unknown, if they are. cluster is the agent's cluster name, for the identity's cluster label.
func (d *Driver) ensureAgentEndpoint(ctx context.Context, nid endpoint.NetworkID, eid endpoint.ID, link *endpoint.Link, cluster string) (labelErr, err error) {
	att := attachment{EndpointID: eid, NetworkID: nid, Link: link,
		IPv4UUID: uuidOf(d.addrs, link.IPv4), IPv6UUID: uuidOf(d.addrs, link.IPv6)}
	ct, lerr := d.docker.JoiningContainer(ctx, nid.String(), eid.String())
	if lerr == nil {
		att.Container, att.Namespace = ct.Name, d.policy.Namespace(ct.Labels)
		att.Labels = d.convertLabels(ct, cluster)
	}
	_, err = d.agent.CreateEndpoint(ctx, att.changeRequest())
	switch {
	case errors.Is(err, agent.ErrExists):
		return nil, nil // a repeated Join: the first one made it
	case err != nil:
		return nil, errors.Join(err, d.removeAgentEndpoint(eid, link))
	}
	return lerr, nil
}

// routesVia makes the router reachable on the link and routes the node's range through it, so that
// containers on this network reach each other even when another network holds the default route.
// The default route itself comes from Docker through the Gateway answer, only when this network is
// the container's gateway network, so a second network does not collide with it.
func routesVia(f agent.Family) []Route {
	return []Route{
		{Dst: netip.PrefixFrom(f.Router, f.Router.BitLen())},
		{Dst: f.Range, NextHop: f.Router},
	}
}

func (d *Driver) convertLabels(ct dockerapi.Container, cluster string) []string {
	out, dropped := d.policy.Identity(ct.Labels, cluster)
	for _, dr := range dropped {
		if dr.Reason != labels.Excluded {
			d.log.WithFields(map[string]any{"container": ct.Name, "label": dr.Key, "reason": dr.Reason}).
				Warn("container label left out of the identity")
		}
	}
	return out
}

// Leave deletes the agent endpoint; one that is gone (or never made: Leave after a failed Join) is
// success.
func (d *Driver) Leave(ctx context.Context, eid endpoint.ID) error {
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
	deleted, err := d.agent.DeleteEndpoint(ctx, agentID(eid))
	if err != nil || !deleted || link == nil {
		return err
	}
	for _, ip := range []netip.Addr{link.IPv4, link.IPv6} {
		if ip.IsValid() {
			d.addrs.FreedByAgent(ip)
		}
	}
	return nil
}

// agentID addresses the agent endpoint of Docker endpoint eid by its CNI attachment: the container-id
// and container-interface-name it was created with (see attachment.changeRequest), both derived from eid.
// Never by the numeric endpoint ID across calls: the agent reuses those.
func agentID(eid endpoint.ID) string {
	return agent.AttachmentID(eid.String(), endpoint.NamesFor(eid).Container)
}

func uuidOf(a Addresses, ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return a.ExpirationUUID(ip)
}
