package bed

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// DockerEndpointOf is the Docker endpoint ID an agent endpoint was created for by the plugin, or "". Both
// agent versions report the endpoint's CNI attachment (cni-attachment-id), which the plugin makes of
// container-id = the Docker endpoint ID and the interface name derived from it.
func DockerEndpointOf(ep *models.Endpoint) string {
	containerID, ifName, ok := agent.Attachment(ep)
	if !ok {
		return ""
	}
	eid, err := endpoint.ParseID(containerID)
	if err != nil || endpoint.NamesFor(eid).Container != ifName {
		return ""
	}
	return containerID
}

// NamesOf returns the interface names of Docker endpoint eid.
func NamesOf(t testing.TB, eid string) endpoint.Names {
	t.Helper()
	id, err := endpoint.ParseID(eid)
	if err != nil {
		t.Fatalf("docker endpoint %q: %v", eid, err)
	}
	return endpoint.NamesFor(id)
}

// ForDockerEndpoint reports whether the agent endpoint ep belongs to Docker endpoint eid.
func ForDockerEndpoint(ep *models.Endpoint, eid string) bool {
	return eid != "" && DockerEndpointOf(ep) == eid
}

// ByDockerEndpoint returns the endpoint of Docker endpoint eid among eps, or nil.
func ByDockerEndpoint(eps []*models.Endpoint, eid string) *models.Endpoint {
	for _, ep := range eps {
		if ForDockerEndpoint(ep, eid) {
			return ep
		}
	}
	return nil
}

// ByIPv4 returns the endpoint with address ip among eps, or nil.
func ByIPv4(eps []*models.Endpoint, ip netip.Addr) *models.Endpoint {
	for _, ep := range eps {
		if EndpointIPv4(ep) == ip {
			return ep
		}
	}
	return nil
}

// EndpointOf returns the agent endpoint of container name on network net, looked up by the key the
// plugin uses: the CNI attachment of its Docker endpoint.
func (nd *Node) EndpointOf(t testing.TB, name, net string) *models.Endpoint {
	t.Helper()
	eid := nd.EndpointID(t, name, net)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ep, err := nd.Agent.Endpoint(ctx, agent.AttachmentID(eid, NamesOf(t, eid).Container))
	if err != nil {
		t.Fatalf("leg %s: agent endpoint of %s on %s (docker endpoint %s): %v; container endpoints: %s",
			nd.Leg, name, net, eid, err, describe(nd.OurEndpoints(t)))
	}
	return ep
}

func describe(eps []*models.Endpoint) string {
	var b strings.Builder
	for _, ep := range eps {
		fmt.Fprintf(&b, "\n  id %d ", ep.ID)
		if ep.Status != nil && ep.Status.ExternalIdentifiers != nil {
			x, _ := json.Marshal(ep.Status.ExternalIdentifiers)
			b.Write(x)
		}
	}
	return b.String()
}

// IdentityLabels are the labels of the endpoint's security identity.
func IdentityLabels(ep *models.Endpoint) []string {
	if ep.Status == nil || ep.Status.Identity == nil {
		return nil
	}
	return ep.Status.Identity.Labels
}

// IdentityID is the endpoint's numeric security identity.
func IdentityID(ep *models.Endpoint) int64 {
	if ep.Status == nil || ep.Status.Identity == nil {
		return 0
	}
	return ep.Status.Identity.ID
}

// State is the endpoint's state (ready, waiting-for-identity, …).
func State(ep *models.Endpoint) string {
	if ep.Status == nil || ep.Status.State == nil {
		return ""
	}
	return string(*ep.Status.State)
}

// Built reports whether the endpoint's datapath has been built under its identity: it is ready, or the
// agent is building it again (regenerating, waiting-to-regenerate) after a first build whose policy
// revision it realized. An agent that has just started regenerates every endpoint once more when its
// node addresses settle, a second or two in, so a container started then can find its endpoint
// regenerating right after `docker run` returns: the first build, under the same identity, is in force.
func Built(ep *models.Endpoint) bool {
	switch State(ep) {
	case "ready":
		return true
	case "regenerating", "waiting-to-regenerate":
		p := ep.Status.Policy
		return p != nil && p.Realized != nil && p.Realized.PolicyRevision > 0
	}
	return false
}

// EndpointIPv4 is the endpoint's IPv4 address.
func EndpointIPv4(ep *models.Endpoint) netip.Addr {
	if ep.Status == nil || ep.Status.Networking == nil {
		return netip.Addr{}
	}
	for _, p := range ep.Status.Networking.Addressing {
		if ip, err := netip.ParseAddr(p.IPv4); err == nil {
			return ip
		}
	}
	return netip.Addr{}
}

// EndpointIPv6 is the endpoint's IPv6 address.
func EndpointIPv6(ep *models.Endpoint) netip.Addr {
	if ep.Status == nil || ep.Status.Networking == nil {
		return netip.Addr{}
	}
	for _, p := range ep.Status.Networking.Addressing {
		if ip, err := netip.ParseAddr(p.IPv6); err == nil {
			return ip
		}
	}
	return netip.Addr{}
}

// HasLabel reports whether labels holds l.
func HasLabel(labels []string, l string) bool { return slices.Contains(labels, l) }

// HasPrefix reports whether a label starts with p.
func HasPrefix(labels []string, p string) bool {
	return slices.ContainsFunc(labels, func(s string) bool { return strings.HasPrefix(s, p) })
}

// isContainer reports whether ep is a container endpoint this plugin created (not the host or health
// endpoint).
func isContainer(ep *models.Endpoint) bool { return DockerEndpointOf(ep) != "" }

// OurEndpoints lists the agent's container endpoints (not the host or health endpoint).
func (nd *Node) OurEndpoints(t testing.TB) []*models.Endpoint {
	t.Helper()
	eps, err := nd.containerEndpoints()
	if err != nil {
		t.Fatalf("leg %s: list agent endpoints: %v", nd.Leg, err)
	}
	return eps
}

func (nd *Node) containerEndpoints() ([]*models.Endpoint, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	eps, err := nd.Agent.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	var out []*models.Endpoint
	for _, ep := range eps {
		if isContainer(ep) {
			out = append(out, ep)
		}
	}
	return out, nil
}

// EndpointsOn lists the agent's endpoints the plugin made. Cilium 1.20 no longer reports an endpoint's
// Docker network, so these are the endpoints of every cilium network (nid is not checked): the tests use
// one network at a time.
func (nd *Node) EndpointsOn(nid string) ([]*models.Endpoint, error) {
	return nd.containerEndpoints()
}

// MustEndpointsOn is EndpointsOn, failing the test on error.
func (nd *Node) MustEndpointsOn(t testing.TB, nid string) []*models.Endpoint {
	t.Helper()
	eps, err := nd.EndpointsOn(nid)
	if err != nil {
		t.Fatalf("leg %s: list agent endpoints: %v", nd.Leg, err)
	}
	return eps
}

// Allocations returns the agent's IPAM allocations (address -> owner) from GET /v1/healthz.
func (nd *Node) Allocations(t testing.TB) map[string]string {
	t.Helper()
	sock := nd.env["CILIUM_SOCK"]
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Get("http://localhost/v1/healthz")
	if err != nil {
		t.Fatalf("leg %s: agent healthz: %v", nd.Leg, err)
	}
	defer resp.Body.Close()
	var h struct {
		IPAM struct {
			Allocations map[string]string `json:"allocations"`
		} `json:"ipam"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("leg %s: decode healthz: %v", nd.Leg, err)
	}
	return h.IPAM.Allocations
}

// AgentRange returns the node's IPv4 allocation range and router address.
func (nd *Node) AgentRange(t testing.TB) agent.Family {
	t.Helper()
	return nd.agentConfig(t).IPv4
}

// AgentRange6 returns the node's IPv6 allocation range and router address (Enabled false on an
// IPv4-only agent).
func (nd *Node) AgentRange6(t testing.TB) agent.Family {
	t.Helper()
	return nd.agentConfig(t).IPv6
}

func (nd *Node) agentConfig(t testing.TB) *agent.Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := nd.Agent.Config(ctx)
	if err != nil {
		t.Fatalf("leg %s: agent config: %v", nd.Leg, err)
	}
	return cfg
}

// AssertBuiltAtRun checks the agent endpoint ep of container name on net, read right after `docker run`
// returned: built (ready, or a rebuild after a first build), under container:name=<name> and no reserved
// label, and the container's address in the agent's range rng.
func (nd *Node) AssertBuiltAtRun(t testing.TB, ep *models.Endpoint, name, net string, rng netip.Prefix) {
	t.Helper()
	if !Built(ep) {
		t.Fatalf("endpoint state right after docker run: got %q, want ready (or a rebuild after a first one)", State(ep))
	}
	if labels := IdentityLabels(ep); !HasLabel(labels, "container:name="+name) || HasPrefix(labels, "reserved:") {
		t.Fatalf("identity labels: got %v, want container:name=%s and no reserved label", labels, name)
	}
	if ip := nd.ContainerIP(t, name, net); !rng.Contains(ip) {
		t.Fatalf("container address %s outside the agent's range %s", ip, rng)
	}
}
