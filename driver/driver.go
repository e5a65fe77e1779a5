package driver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/cilium/api/v1/models"
	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/labels"
)

// Agent is what the driver needs from cilium-agent.
type Agent interface {
	Config(ctx context.Context) (*agent.Config, error)
	NodeRanges(ctx context.Context) (agent.NodeRanges, error)
	CreateEndpoint(ctx context.Context, req *models.EndpointChangeRequest) (*models.Endpoint, error)
	Endpoint(ctx context.Context, id string) (*models.Endpoint, error)
	Endpoints(ctx context.Context) ([]*models.Endpoint, error)
	DeleteEndpoint(ctx context.Context, id string) (deleted bool, err error)
	SetLabels(ctx context.Context, id string, labels []string) error
}

// Links is the kernel side: the veth pair of each endpoint.
type Links interface {
	Create(ctx context.Context, s endpoint.Spec) (*endpoint.Link, error)
	Get(ctx context.Context, id endpoint.ID) (*endpoint.Link, error)
	Delete(ctx context.Context, id endpoint.ID) error
}

// Docker finds the container behind an endpoint at Join.
type Docker interface {
	JoiningContainer(ctx context.Context, networkID, endpointID string) (dockerapi.Container, error)
	Network(ctx context.Context, ref string) (id, driver string, err error)
}

// Addresses is the IPAM's record of who frees each address.
type Addresses interface {
	// Prepare returns the expiration UUID the endpoint create for eid sends for ip, re-claiming ip
	// first when this process did not hand it out (it restarted since Docker's RequestAddress).
	Prepare(ctx context.Context, ip netip.Addr, eid endpoint.ID) (uuid string, err error)
	// Reclaim makes the agent hold ip again for eid, without a timer, after it forgot the allocation.
	Reclaim(ctx context.Context, ip netip.Addr, eid endpoint.ID) error
	// ContainerName is the container name Docker gave with ip's RequestAddress (Docker 29+), or "".
	ContainerName(ip netip.Addr) string
	Bound(ip netip.Addr)
	FreedByAgent(ip netip.Addr)
	// OwnsAddressSpace reports whether a pool of address space space is the cilium IPAM's.
	OwnsAddressSpace(space string) bool
}

// Tracker is the in-flight set the reconciler reads: what a handler works on, or just worked on, is
// not garbage although Docker may not list it yet (or any more).
type Tracker interface {
	Endpoint(eid endpoint.ID) (done func())
	Address(ip netip.Addr) (done func())
}

// noTracker is the Tracker of a driver that runs without a reconciler.
type noTracker struct{}

func (noTracker) Endpoint(endpoint.ID) func() { return func() {} }
func (noTracker) Address(netip.Addr) func()   { return func() {} }

// Driver is the NetworkDriver's logic with typed arguments.
type Driver struct {
	log    *logrus.Entry
	agent  Agent
	links  Links
	docker Docker
	addrs  Addresses
	policy labels.Policy
	filter *agentFilter
	track  Tracker
	reap   *Reaper   // nil: DeleteEndpoint deletes the veth pair itself
	done   *Labelled // nil: no record of the Joins that applied labels
	builds *Builds   // nil: every Join waits for its agent endpoint create
	name   string    // the driver's name in Docker
	ports  Ports
}

// New returns the driver core.
func New(log *logrus.Entry, a Agent, l Links, d Docker, addrs Addresses, p labels.Policy) *Driver {
	return &Driver{log: log, agent: a, links: l, docker: d, addrs: addrs, policy: p, filter: &agentFilter{log: log},
		track: noTracker{}, name: DriverName, ports: noPorts{}}
}

// Named sets the driver's name in Docker (DriverName unless the plugin is a managed one, named after its
// reference); call it before serving.
func (d *Driver) Named(name string) *Driver {
	d.name = name
	return d
}

// Track makes every handler record the endpoint and addresses it works on in t; call it before
// serving.
func (d *Driver) Track(t Tracker) *Driver {
	d.track = t
	return d
}

// Reap makes DeleteEndpoint hand veth pairs to r instead of deleting them on Docker's path; call it
// before serving.
func (d *Driver) Reap(r *Reaper) *Driver {
	d.reap = r
	return d
}

// RecordLabelled makes every Join that creates an endpoint under its container's labels say so in l,
// for the label sync (LabelSync.Skip); call it before serving.
func (d *Driver) RecordLabelled(l *Labelled) *Driver {
	d.done = l
	return d
}

// HandOver makes the Joins of containers that join one network only hand their agent endpoint
// create to b, and their ProgramExternalConnectivity wait for it (Builds); call it before serving.
func (d *Driver) HandOver(b *Builds) *Driver {
	d.builds = b
	return d
}

// working records that a handler works on eid and its addresses until the returned func runs.
func (d *Driver) working(eid endpoint.ID, ips ...netip.Addr) func() {
	done := []func(){d.track.Endpoint(eid)}
	for _, ip := range ips {
		done = append(done, d.track.Address(ip))
	}
	return func() {
		for _, f := range done {
			f()
		}
	}
}

// linkOf is the veth pair CreateEndpoint made for eid, or why there is none here.
func (d *Driver) linkOf(ctx context.Context, eid endpoint.ID) (*endpoint.Link, error) {
	link, err := d.links.Get(ctx, eid)
	if errors.Is(err, endpoint.ErrNotFound) {
		return nil, fmt.Errorf("endpoint %s has no interface on this host: CreateEndpoint did not run here or it was deleted", eid)
	}
	return link, err
}
