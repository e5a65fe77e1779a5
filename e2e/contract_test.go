package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// outcome is how the plugin's agent client classifies one answer: what the plugin branches on.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, agent.ErrNotFound):
		return "not found"
	case errors.Is(err, agent.ErrExists):
		return "exists"
	case errors.Is(err, agent.ErrConflict):
		return "conflict"
	case strings.Contains(err.Error(), "unknown endpoint ID prefix"):
		return "unknown prefix"
	}
	return "error: " + err.Error()
}

// fakeVersion is the fake agent's mode for the leg's agent.
func fakeVersion(t *testing.T, cilium string) agenttest.Version {
	switch {
	case strings.HasPrefix(cilium, "1.19."):
		return agenttest.V1_19
	case strings.HasPrefix(cilium, "1.20."):
		return agenttest.V1_20
	}
	t.Fatalf("no fake agent mode for cilium %s", cilium)
	return 0
}

// TestFakeAgentContract holds the fake agent the unit tests run on against the real agent of the leg:
// the same calls, through the plugin's own client, must be classified the same by both (found, not
// found, refused prefix, existing attachment, held address), and the endpoint model must carry the
// same external identifiers. A Cilium bump shows here where the fake drifted.
func TestFakeAgentContract(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cilium-net"
	nd.Network(t, net)
	nd.Run(t, "ct1", "-l", "name=ct1", "--net", net, bed.Image, "sleep", "100000")
	eid := nd.EndpointID(t, "ct1", net)
	names := bed.NamesOf(t, eid)
	ip := nd.ContainerIP(t, "ct1", net)
	realEP := nd.EndpointOf(t, "ct1", net)

	fake := agenttest.New(t)
	cfg := fake.Config()
	cfg.Version = fakeVersion(t, nd.CiliumVersion())
	cfg.IPv4Range = nd.AgentRange(t).Range
	cfg.IPv4Router = nd.AgentRange(t).Router
	fake.SetConfig(cfg)
	fc, err := agent.New(fake.Addr(), agent.Timeouts{})
	if err != nil {
		t.Fatal(err)
	}
	// The fake gets the endpoint the plugin made on the real agent, from the plugin's own request.
	state := models.EndpointStateWaitingDashForDashIdentity
	req := &models.EndpointChangeRequest{ContainerID: eid, ContainerInterfaceName: names.Container,
		InterfaceName: names.Host, K8sNamespace: "docker", K8sPodName: "ct1", Labels: []string{"container:name=ct1"},
		Addressing: &models.AddressPair{IPv4: ip.String()}, State: &state, SyncBuildEndpoint: true}
	fake.Allocate(ip, "cilium-docker")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fakeEP, err := fc.CreateEndpoint(ctx, req)
	if err != nil {
		t.Fatalf("fake create: %v", err)
	}
	clients := map[string]*agent.Client{"real": nd.Agent, "fake": fc}
	same := func(t *testing.T, what string, call func(c *agent.Client) error) {
		t.Helper()
		got := map[string]string{}
		for name, c := range clients {
			got[name] = outcome(call(c))
		}
		if got["real"] != got["fake"] {
			t.Errorf("%s: real agent %q, fake %q", what, got["real"], got["fake"])
		}
	}

	t.Run("endpoint lookups", func(t *testing.T) {
		for _, id := range []string{
			agent.AttachmentID(eid, names.Container), agent.AttachmentID(eid, "eth9"), "cep-name:docker/ct1",
			"cep-name:docker/nobody", "ipv4:" + ip.String(), "ipv4:192.0.2.1",
			"docker-endpoint:" + eid, "container-id:" + eid, "container-name:ct1", "pod-name:docker/ct1", "bogus:x",
		} {
			same(t, "GET "+id, func(c *agent.Client) error { _, err := c.Endpoint(ctx, id); return err })
		}
	})
	t.Run("external identifiers", func(t *testing.T) {
		r, f := realEP.Status.ExternalIdentifiers, fakeEP.Status.ExternalIdentifiers
		pairs := []struct{ name, real, fake string }{
			{"cni-attachment-id", r.CniAttachmentID, f.CniAttachmentID}, {"container-id", r.ContainerID, f.ContainerID},
			{"container-name", r.ContainerName, f.ContainerName}, {"docker-endpoint-id", r.DockerEndpointID, f.DockerEndpointID},
			{"k8s-namespace", r.K8sNamespace, f.K8sNamespace}, {"k8s-pod-name", r.K8sPodName, f.K8sPodName},
			{"pod-name", r.PodName, f.PodName},
		}
		for _, p := range pairs {
			if p.real != p.fake {
				t.Errorf("%s: real agent %q, fake %q", p.name, p.real, p.fake)
			}
		}
		if r.CniAttachmentID != eid+":"+names.Container {
			t.Errorf("real cni-attachment-id %q, want %s:%s", r.CniAttachmentID, eid, names.Container)
		}
	})
	t.Run("create of an existing attachment", func(t *testing.T) {
		same(t, "PUT existing attachment", func(c *agent.Client) error { _, err := c.CreateEndpoint(ctx, req); return err })
	})
	t.Run("addresses", func(t *testing.T) {
		same(t, "claim of a held address", func(c *agent.Client) error { return c.Claim(ctx, ip, "contract") })
		free := netip.MustParseAddr(strings.TrimSuffix(cfg.IPv4Range.Addr().String(), ".0") + ".250")
		same(t, "release of a free address", func(c *agent.Client) error { return c.Release(ctx, free) })
		same(t, "claim of a free address", func(c *agent.Client) error { return c.Claim(ctx, free, "contract") })
		same(t, "release of the claim", func(c *agent.Client) error { return c.Release(ctx, free) })
	})
	t.Run("the agent's label filter", func(t *testing.T) {
		// A create whose every label the agent's filter drops is refused before anything is made.
		only := *req
		only.ContainerID = strings.Repeat("ab", 32)
		only.ContainerInterfaceName = "tmpcontract0"
		only.Addressing = &models.AddressPair{IPv4: strings.TrimSuffix(cfg.IPv4Range.Addr().String(), ".0") + ".251"}
		only.Labels = []string{"container:annotation.example=1", "container:annotationfoo=2"}
		same(t, "PUT with only filtered labels", func(c *agent.Client) error { _, err := c.CreateEndpoint(ctx, &only); return err })
		if _, err := nd.Agent.CreateEndpoint(ctx, &only); err == nil || !strings.Contains(err.Error(), "no valid labels provided") {
			t.Errorf("real agent, create with only filtered labels: %v, want no valid labels provided", err)
		}
		// A patch keeps only what the filter lets into the identity.
		id := agent.AttachmentID(eid, names.Container)
		want := []string{"container:name=ct1"}
		for name, c := range clients {
			if err := c.SetLabels(ctx, id, []string{"container:annotations.x=1", "container:name=ct1"}); err != nil {
				t.Fatalf("%s: PATCH: %v", name, err)
			}
			bed.Eventually(t, 20*time.Second, name+" agent's identity after the patch", func() error {
				ep, err := c.Endpoint(ctx, id)
				if err != nil {
					return err
				}
				var got []string
				for _, l := range bed.IdentityLabels(ep) {
					if strings.HasPrefix(l, "container:") {
						got = append(got, l)
					}
				}
				if !slices.Equal(got, want) {
					return fmt.Errorf("identity labels %v, want %v", bed.IdentityLabels(ep), want)
				}
				return nil
			})
		}
	})
	t.Run("cluster node ranges", func(t *testing.T) {
		for name, c := range clients {
			nr, err := c.NodeRanges(ctx)
			if err != nil || !slices.Contains(nr.IPv4, cfg.IPv4Range) {
				t.Errorf("%s agent: node ranges %v, %v; want this node's %s among them", name, nr.IPv4, err, cfg.IPv4Range)
			}
		}
	})
	t.Run("label patch and delete by attachment", func(t *testing.T) {
		id := agent.AttachmentID(eid, names.Container)
		same(t, "PATCH labels", func(c *agent.Client) error { return c.SetLabels(ctx, id, []string{"container:name=ct1"}) })
		same(t, "PATCH labels of an unknown attachment", func(c *agent.Client) error {
			return c.SetLabels(ctx, agent.AttachmentID(eid, "eth9"), []string{"container:name=ct1"})
		})
		for i := range 2 {
			got := map[string]string{}
			for name, c := range clients {
				deleted, err := c.DeleteEndpoint(ctx, id)
				got[name] = fmt.Sprintf("deleted=%v %s", deleted, outcome(err))
			}
			if got["real"] != got["fake"] {
				t.Errorf("DELETE #%d: real agent %q, fake %q", i+1, got["real"], got["fake"])
			}
		}
	})
}
