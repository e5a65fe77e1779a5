package driver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/labels"
)

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
	defer d.working(eid)()
	link, cfg, err := d.joinable(ctx, nid, eid)
	if err != nil {
		return nil, err
	}
	defer d.working(eid, link.IPv4, link.IPv6)()
	lerr, err := d.ensureAgentEndpoint(ctx, cfg, nid, eid, link, true)
	if err != nil {
		return nil, err
	}
	j := &Joined{SrcName: link.Container, LabelsPending: lerr != nil}
	if lerr != nil {
		d.log.WithError(lerr).WithField("endpoint", eid).
			Warn("container labels not known at join; the endpoint starts without them and gets them when the container starts")
	}
	nodes, err := d.agent.NodeRanges(ctx)
	if err != nil {
		d.log.WithError(err).WithField("endpoint", eid).
			Warn("cluster node ranges unknown; only this node's range is routed through the cilium interface")
	}
	if link.IPv4.IsValid() {
		j.Gateway = cfg.IPv4.Router
		j.Routes = append(j.Routes, routesVia(cfg.IPv4, nodes.IPv4)...)
	}
	if link.IPv6.IsValid() {
		j.GatewayIPv6 = cfg.IPv6.Router
		j.Routes = append(j.Routes, routesVia(cfg.IPv6, nodes.IPv6)...)
	}
	return j, nil
}

// ensureAgentEndpoint creates the agent endpoint of eid unless it exists already: dockerd repeats a
// Join whose answer it lost to a transport error, and the agent refuses a second endpoint for the
// same attachment. It creates first and reads only on that refusal, so a Join makes no endpoint
// read, which the agent rate-limits hardest (4/s). For a container that joins one network only and is
// being started, the create is handed to d.builds when mayHandOver, and ProgramExternalConnectivity
// waits for it instead (Builds). It returns why the container's labels are unknown, if they are.
func (d *Driver) ensureAgentEndpoint(ctx context.Context, cfg *agent.Config, nid endpoint.NetworkID, eid endpoint.ID,
	link *endpoint.Link, mayHandOver bool) (labelErr, err error) {
	att := attachment{EndpointID: eid, NetworkID: nid, Link: link}
	if att.IPv4UUID, err = d.prepare(ctx, eid, link.IPv4); err != nil {
		return nil, err
	}
	if att.IPv6UUID, err = d.prepare(ctx, eid, link.IPv6); err != nil {
		return nil, err
	}
	ct, lerr := d.docker.JoiningContainer(ctx, nid.String(), eid.String())
	switch {
	case lerr == nil:
		if err := d.refuseForeignName(nid, ct); err != nil {
			return nil, err
		}
		if err := d.refuseSecondNetwork(ctx, nid, ct); err != nil {
			return nil, err
		}
		att.Container, att.Namespace = ct.Name, d.policy.Namespace(ct.Labels, ct.ImageLabels)
		att.Labels = d.convertLabels(d.filter.policy(d.policy, cfg), ct, cfg.ClusterName)
		// The allow-list's policy is in place before the endpoint exists: the container's first
		// packet is already held to it.
		if v, ok, fromImage := d.policy.Egress(ct.Labels, ct.ImageLabels); ok {
			release, err := d.egress.join(ctx, eid, ct, v, att.Labels)
			if err != nil {
				return nil, err
			}
			release()
		} else if fromImage {
			d.log.WithField("container", ct.Name).Warn("label " + labels.EgressKey + " is the image's, which never counts: give it with -l or compose's labels")
		}
	case link.IPv4.IsValid() || link.IPv6.IsValid():
		// The agent takes a name only at create (no PATCH sets k8s-pod-name): use the one Docker 29
		// gave with RequestAddress, under the default namespace, when Docker cannot tell more now.
		if name := d.containerName(link); name != "" {
			att.Container, att.Namespace = name, d.policy.Namespace(nil, nil)
		}
	}
	if d.builds.Has(eid) {
		return lerr, nil // a repeated Join: the first one created the endpoint or handed its create over
	}
	labelled := ""
	if lerr == nil {
		labelled = ct.ID
	}
	if mayHandOver && lerr == nil && handsOver(ct) {
		held := d.working(eid, link.IPv4, link.IPv6) // the reconciler keeps off until the create ended
		if d.builds.Start(eid, func() error {
			defer held()
			return d.createAgentEndpoint(context.WithoutCancel(ctx), att, labelled)
		}) {
			return nil, nil
		}
		held()
	}
	if err := d.createAgentEndpoint(ctx, att, labelled); err != nil {
		return nil, err
	}
	d.builds.Joined(eid)
	return lerr, nil
}

// createAgentEndpoint creates the agent endpoint of att and waits for its build; on failure it removes
// what the agent made of it. labelled is the container whose labels the endpoint carries ("" for none).
func (d *Driver) createAgentEndpoint(ctx context.Context, att attachment, labelled string) error {
	eid, link := att.EndpointID, att.Link
	_, err := d.agent.CreateEndpoint(ctx, att.changeRequest())
	if errors.Is(err, agent.ErrNoExpirationTimer) {
		// The agent restarted since RequestAddress: it forgot the allocation and its timer. Claim the
		// address again (it may have been handed out meanwhile: then the start fails, clearly).
		d.log.WithError(err).WithField("endpoint", eid).Info("cilium-agent forgot the address since it was allocated; re-claiming it")
		err = d.reclaim(ctx, eid, link)
		if err == nil {
			att.IPv4UUID, att.IPv6UUID = "", ""
			_, err = d.agent.CreateEndpoint(ctx, att.changeRequest())
		}
	}
	switch {
	case errors.Is(err, agent.ErrExists):
		// a repeated Join: the first one made it
	case err != nil:
		return errors.Join(err, d.removeAgentEndpoint(eid, link))
	default:
		d.done.add(labelled)
	}
	for _, ip := range []netip.Addr{link.IPv4, link.IPv6} {
		if ip.IsValid() {
			d.addrs.Bound(ip)
		}
	}
	return nil
}

// joinable returns the link CreateEndpoint made for eid on network nid and the agent's config: what
// Join and rejoin start from.
func (d *Driver) joinable(ctx context.Context, nid endpoint.NetworkID, eid endpoint.ID) (*endpoint.Link, *agent.Config, error) {
	link, err := d.linkOf(ctx, eid)
	if err != nil {
		return nil, nil, err
	}
	if link.NetworkID != nid {
		return nil, nil, fmt.Errorf("endpoint %s belongs to network %s, not %s", eid, link.NetworkID, nid)
	}
	cfg, err := d.agent.Config(ctx)
	if err != nil {
		return nil, nil, err
	}
	return link, cfg, nil
}

// DriverName is this driver's default name in Docker: the legacy plugin socket's file name.
const DriverName = "cilium"

// refuseForeignName refuses a join to a network Docker records under another driver name than the
// plugin's own (--driver-name): a managed plugin installed under another name than it was told. Its
// endpoints would be on no network the reconciler and the second-network check know as the plugin's, and
// the reconciler would remove them as left over.
func (d *Driver) refuseForeignName(nid endpoint.NetworkID, ct dockerapi.Container) error {
	if ct.JoinDriver == "" || ct.JoinDriver == d.name {
		return nil
	}
	return fmt.Errorf("network %s has driver %q, but this plugin runs as %q: set its driver name to the one Docker knows it by "+
		"(docker plugin set <plugin> CILIUM_DOCKER_DRIVER_NAME=%[2]q, or --driver-name)", shortID(nid.String()), ct.JoinDriver, d.name)
}

// refuseSecondNetwork refuses to join ct to nid when ct is on another cilium network too. Every cilium
// network of a node draws from the same agent range behind the same router, so a second interface
// needs the routes the first holds already: Docker 20.10 fails the start with "file exists", 29 with
// "conflicts with existing route". Nor could the second interface work: the kernel routes by
// destination, so replies from its address would leave through the first interface, whose endpoint
// the agent verifies the source address of, and drops them. A network whose driver Docker cannot
// tell in time is passed over: the start then fails as it did.
func (d *Driver) refuseSecondNetwork(ctx context.Context, nid endpoint.NetworkID, ct dockerapi.Container) error {
	for _, ref := range ct.Networks {
		if ref == nid.String() {
			continue
		}
		other, drv, err := d.docker.Network(ctx, ref)
		if err != nil {
			d.log.WithError(err).WithField("container", ct.Name).Debug("driver of the container's other network")
			continue
		}
		if other != nid.String() && drv == d.name {
			return fmt.Errorf("container %q is on cilium network %s already, and a container can be on one cilium network only: "+
				"every cilium network shares cilium-agent's node range and router, so a second interface would take the "+
				"same routes as the first; disconnect it from the other cilium network, or add networks of other drivers", ct.Name, shortID(other))
		}
	}
	return nil
}

// prepare returns the expiration UUID for ip, if any ("" for no address).
func (d *Driver) prepare(ctx context.Context, eid endpoint.ID, ip netip.Addr) (string, error) {
	if !ip.IsValid() {
		return "", nil
	}
	return d.addrs.Prepare(ctx, ip, eid)
}

func (d *Driver) containerName(link *endpoint.Link) string {
	for _, ip := range []netip.Addr{link.IPv4, link.IPv6} {
		if ip.IsValid() {
			if n := d.addrs.ContainerName(ip); n != "" {
				return n
			}
		}
	}
	return ""
}

func (d *Driver) reclaim(ctx context.Context, eid endpoint.ID, link *endpoint.Link) error {
	for _, ip := range []netip.Addr{link.IPv4, link.IPv6} {
		if ip.IsValid() {
			if err := d.addrs.Reclaim(ctx, ip, eid); err != nil {
				return err
			}
		}
	}
	return nil
}

// convertLabels is the container's identity: its labels under p, and the namespace and cluster labels
// (labels.Policy.Identity) for the agent's cluster.
func (d *Driver) convertLabels(p labels.Policy, ct dockerapi.Container, cluster string) []string {
	out, dropped := p.Identity(ct.Labels, ct.ImageLabels, cluster)
	for _, dr := range dropped {
		if dr.Reason != labels.Excluded && dr.Reason != labels.FromImage && dr.Reason != labels.EgressLabel {
			d.log.WithFields(map[string]any{"container": ct.Name, "label": dr.Key, "reason": dr.Reason}).
				Warn("container label left out of the identity")
		}
	}
	return out
}

// shortID is Docker's short form of an ID, as docker network ls shows it.
func shortID(id string) string { return id[:min(12, len(id))] }
