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
}

// Tracker is the in-flight set the reconciler reads: what a handler works on, or just worked on, is
// not garbage although Docker may not list it yet (or any more).
type Tracker interface {
	Endpoint(eid endpoint.ID) (done func())
	Address(ip netip.Addr) (done func())
}

// HandOver takes the agent endpoint creates that Joins hand over, and answers for them to
// ProgramExternalConnectivity, Leave and DeleteEndpoint (Builds).
type HandOver interface {
	// Has reports whether a Join of this process created eid's agent endpoint or handed its create
	// over: a repeated Join makes none.
	Has(eid endpoint.ID) bool
	// Start runs create for eid and reports whether it took it; false: the Join creates by itself.
	Start(eid endpoint.ID, create func() error) bool
	// Joined records that a Join created eid's agent endpoint by itself.
	Joined(eid endpoint.ID)
	// Wait returns the result of eid's create once it is done; known false: this process knows of no
	// create of eid (the Join came to another process), so ProgramExternalConnectivity makes sure of it.
	Wait(ctx context.Context, eid endpoint.ID) (known bool, err error)
	// Forget waits for eid's create to end and drops its record.
	Forget(ctx context.Context, eid endpoint.ID) error
}

// Deleter deletes the veth pair of an endpoint Docker deleted: the Reaper, after the answer.
type Deleter interface {
	Delete(ctx context.Context, eid endpoint.ID) error
}

// Deps is what a Driver is made of. Every field is required: the daemon wires the real parts, tests
// no-op fakes.
type Deps struct {
	Log *logrus.Entry
	// Name is the driver's name in Docker: DriverName, or a managed plugin's reference.
	Name string
	// AddressSpaces are the cilium IPAM's address spaces: CreateNetwork refuses a pool of any other.
	AddressSpaces []string
	Agent         Agent
	Links         Links
	Docker        Docker
	Addresses     Addresses
	Policy        labels.Policy
	Ports         Ports
	Tracker       Tracker
	Reap          Deleter
	// Labelled records the containers whose Join applied their labels, for the label sync (LabelSync).
	Labelled *Labelled
	HandOver HandOver
	// Egress stores the policies of containers' allow-list labels; Node names this node in them.
	Egress EgressPolicies
	Node   string
}

// Driver is the NetworkDriver's logic with typed arguments.
type Driver struct {
	log    *logrus.Entry
	agent  Agent
	links  Links
	docker Docker
	addrs  Addresses
	spaces []string // the IPAM's address spaces
	policy labels.Policy
	filter *agentFilter
	track  Tracker
	reap   Deleter
	done   *Labelled
	builds HandOver
	name   string // the driver's name in Docker
	ports  Ports
	egress *Egress
}

// New returns the driver core.
func New(d Deps) *Driver {
	return &Driver{log: d.Log, agent: d.Agent, links: d.Links, docker: d.Docker, addrs: d.Addresses, spaces: d.AddressSpaces,
		policy: d.Policy, filter: &agentFilter{log: d.Log}, track: d.Tracker, reap: d.Reap, done: d.Labelled, builds: d.HandOver,
		name: d.Name, ports: d.Ports, egress: newEgress(d.Log, d.Egress, d.Agent, d.Node)}
}

// Egress is the driver's record of the generated egress policies and their users: the label sync
// stores through it, and the daemon runs its Restore at start.
func (d *Driver) Egress() *Egress { return d.egress }

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
