package driver

import (
	"context"

	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// handsOver reports whether Docker sends ct's endpoint ProgramExternalConnectivity before ct runs, so
// that the Join may hand its create over: ct is being started (a network connect to a running container
// gets the call only when the endpoint becomes its gateway) and is on this network only (with others,
// Docker sends it to the gateway's endpoint alone), and the network is not internal (no gateway).
func handsOver(ct dockerapi.Container) bool {
	return ct.State != "running" && ct.State != "paused" && len(ct.Networks) == 1 && !ct.JoinInternal
}

// ProgramExternalConnectivity waits for the create of eid when its Join handed it over (the container
// does not run before this answers), then publishes bs. When the Join came to another process (the
// plugin restarted in between: its handed-over create may have died with it), it makes sure of the
// endpoint as a repeated Join would: a create the agent refuses as existing, or the create itself.
func (d *Driver) ProgramExternalConnectivity(ctx context.Context, nid endpoint.NetworkID, eid endpoint.ID, bs []endpoint.Binding) ([]endpoint.Mapping, error) {
	known, err := d.builds.Wait(ctx, eid)
	if err != nil {
		return nil, err
	}
	if !known {
		if err := d.rejoin(ctx, nid, eid); err != nil {
			return nil, err
		}
	}
	return d.Publish(ctx, eid, bs)
}

// rejoin creates the agent endpoint of eid as Join does, waiting for it; one that exists is success.
func (d *Driver) rejoin(ctx context.Context, nid endpoint.NetworkID, eid endpoint.ID) error {
	defer d.working(eid)()
	link, cfg, err := d.joinable(ctx, nid, eid)
	if err != nil {
		return err
	}
	defer d.working(eid, link.IPv4, link.IPv6)()
	_, err = d.ensureAgentEndpoint(ctx, cfg, nid, eid, link, false)
	return err
}
