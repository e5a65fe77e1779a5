package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// dockerEndpointOf is the Docker endpoint ID an agent endpoint was created for by the plugin (its CNI
// attachment: container-id = the Docker endpoint ID, the interface name derived from it), or "".
func dockerEndpointOf(ep *models.Endpoint) string {
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

// namesOf returns the interface names of Docker endpoint eid.
func namesOf(t testing.TB, eid string) endpoint.Names {
	t.Helper()
	id, err := endpoint.ParseID(eid)
	if err != nil {
		t.Fatalf("docker endpoint %q: %v", eid, err)
	}
	return endpoint.NamesFor(id)
}

// endpointOf returns the agent endpoint of container name on network net.
func (nd *node) endpointOf(t testing.TB, name, net string) *models.Endpoint {
	t.Helper()
	eid := nd.must(t, "inspect", "-f", fmt.Sprintf("{{(index .NetworkSettings.Networks %q).EndpointID}}", net), name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ep, err := nd.agent.Endpoint(ctx, agent.AttachmentID(eid, namesOf(t, eid).Container))
	if err != nil {
		t.Fatalf("agent endpoint of %s on %s (docker endpoint %s): %v", name, net, eid, err)
	}
	return ep
}

func identityLabels(ep *models.Endpoint) []string {
	if ep.Status == nil || ep.Status.Identity == nil {
		return nil
	}
	return ep.Status.Identity.Labels
}

func identityID(ep *models.Endpoint) int64 {
	if ep.Status == nil || ep.Status.Identity == nil {
		return 0
	}
	return ep.Status.Identity.ID
}

func state(ep *models.Endpoint) string {
	if ep.Status == nil || ep.Status.State == nil {
		return ""
	}
	return string(*ep.Status.State)
}

// ourEndpoints lists the agent's container endpoints (not the host endpoint).
func (nd *node) ourEndpoints(t testing.TB) []*models.Endpoint {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	eps, err := nd.agent.Endpoints(ctx)
	if err != nil {
		t.Fatalf("list agent endpoints: %v", err)
	}
	var out []*models.Endpoint
	for _, ep := range eps {
		if dockerEndpointOf(ep) != "" {
			out = append(out, ep)
		}
	}
	return out
}

// allocations returns the agent's IPAM allocations (address -> owner) from healthz.
func (nd *node) allocations(t testing.TB) map[string]string {
	t.Helper()
	out := nd.inNode(t, "curl", "-s", "--unix-socket", nd.env["CILIUM_SOCK"], "http://localhost/v1/healthz")
	var h struct {
		IPAM struct {
			Allocations map[string]string `json:"allocations"`
		} `json:"ipam"`
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("decode healthz: %v\n%s", err, out)
	}
	return h.IPAM.Allocations
}

// agentRange returns the node's allocation range and router address.
func (nd *node) agentRange(t testing.TB) agent.Family {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := nd.agent.Config(ctx)
	if err != nil {
		t.Fatalf("agent config: %v", err)
	}
	return cfg.IPv4
}

// containerIP returns the container's address on net.
func (nd *node) containerIP(t testing.TB, name, net string) netip.Addr {
	t.Helper()
	s := nd.must(t, "inspect", "-f", fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", net), name)
	ip, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("address of %s on %s: %q: %v", name, net, s, err)
	}
	return ip
}

func hasLabel(labels []string, l string) bool { return slices.Contains(labels, l) }

func hasPrefix(labels []string, p string) bool {
	return slices.ContainsFunc(labels, func(s string) bool { return strings.HasPrefix(s, p) })
}
