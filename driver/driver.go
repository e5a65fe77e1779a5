package driver

import (
	"context"
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
	ExpirationUUID(ip netip.Addr) string
	Bound(ip netip.Addr)
	FreedByAgent(ip netip.Addr)
}

// Driver is the NetworkDriver's logic with typed arguments.
type Driver struct {
	log    *logrus.Entry
	agent  Agent
	links  Links
	docker Docker
	addrs  Addresses
	policy labels.Policy
	filter *agentFilter
}

// New returns the driver core.
func New(log *logrus.Entry, a Agent, l Links, d Docker, addrs Addresses, p labels.Policy) *Driver {
	return &Driver{log: log, agent: a, links: l, docker: d, addrs: addrs, policy: p, filter: &agentFilter{log: log}}
}
