package agenttest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

func newClient(t *testing.T, a *agenttest.Agent, call time.Duration) *agent.Client {
	t.Helper()
	c, err := agent.New(a.Addr(), agent.Timeouts{Call: call, Create: call})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	return c
}

// raw sends one request to the fake over its socket, bypassing the typed client.
func raw(t *testing.T, a *agenttest.Agent, method, path string) (int, string) {
	t.Helper()
	hc := servertest.Client(a.Path())
	req, err := http.NewRequest(method, "http://localhost"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConfig(t *testing.T) {
	a := agenttest.New(t)
	c := newClient(t, a, 5*time.Second)
	cfg, err := c.Config(context.Background())
	if err != nil {
		t.Fatalf("Config: %v", err)
	}
	want := agent.Config{IPv4: agent.Family{Enabled: true, Range: netip.MustParsePrefix("10.77.0.0/16"),
		Router: netip.MustParseAddr("10.77.18.133")}, RouteMTU: 1450, DatapathMode: "veth", ClusterName: "local"}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("Config() = %+v, want %+v", *cfg, want)
	}
	// The agent's label rules come in its configuration map, by DaemonConfig field name.
	fc := a.Config()
	fc.LabelPrefixes, fc.LabelPrefixFile = []string{"container:app", "!container:tmp"}, "/etc/cilium/prefixes.json"
	a.SetConfig(fc)
	if cfg, err = newClient(t, a, 5*time.Second).Config(context.Background()); err != nil {
		t.Fatalf("Config: %v", err)
	}
	if !reflect.DeepEqual(cfg.LabelPrefixes, fc.LabelPrefixes) || cfg.LabelPrefixFile != fc.LabelPrefixFile {
		t.Errorf("label rules: got %q %q, want %q %q", cfg.LabelPrefixes, cfg.LabelPrefixFile, fc.LabelPrefixes, fc.LabelPrefixFile)
	}
	// BPF host routing comes as EnableHostLegacyRouting false.
	fc.BPFHostRouting = true
	a.SetConfig(fc)
	if cfg, err = newClient(t, a, 5*time.Second).Config(context.Background()); err != nil || !cfg.BPFHostRouting {
		t.Errorf("BPF host routing: got %+v, %v; want BPFHostRouting", cfg, err)
	}
}

func TestReleaseNeedsPool(t *testing.T) {
	a := agenttest.New(t)
	if code, body := raw(t, a, http.MethodDelete, "/v1/ipam/10.77.0.9"); code != 500 ||
		!strings.Contains(body, "no IPAM pool provided for IP release of 10.77.0.9") {
		t.Errorf("DELETE without pool: got %d %s, want 500 no IPAM pool provided", code, body)
	}
	for range 2 { // already free is success too
		if code, body := raw(t, a, http.MethodDelete, "/v1/ipam/10.77.0.9?pool=default"); code != 200 {
			t.Errorf("DELETE with pool: got %d %s, want 200", code, body)
		}
	}
}

func TestAllocateClaimRelease(t *testing.T) {
	a := agenttest.New(t)
	c := newClient(t, a, 5*time.Second)
	ctx := context.Background()
	al, err := c.Allocate(ctx, agent.IPv4, "me", true)
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	if got := a.Allocated()[al.IP]; got != "me" {
		t.Errorf("owner of %s: got %q, want me", al.IP, got)
	}
	if al.ExpirationUUID == "" || a.Expiring()[al.IP] != al.ExpirationUUID {
		t.Errorf("expiration: got uuid %q, fake records %q", al.ExpirationUUID, a.Expiring()[al.IP])
	}
	if err := c.Claim(ctx, al.IP, "other"); !errors.Is(err, agent.ErrConflict) {
		t.Errorf("Claim of a held address: got %v, want ErrConflict", err)
	}
	if err := c.Release(ctx, al.IP); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, held := a.Allocated()[al.IP]; held {
		t.Errorf("%s still allocated after Release", al.IP)
	}
	if _, err := c.Allocate(ctx, agent.IPv6, "me", false); err == nil || !strings.Contains(err.Error(), "ipv6") {
		t.Errorf("Allocate v6 on an IPv4-only agent: got %v, want an ipv6 error", err)
	}
}

func TestEndpointLifecycle(t *testing.T) {
	for _, v := range agenttest.Versions {
		t.Run(v.String(), func(t *testing.T) { testEndpointLifecycle(t, v) })
	}
}

func testEndpointLifecycle(t *testing.T, v agenttest.Version) {
	a := agenttest.New(t)
	cfg := a.Config()
	cfg.Version = v
	a.SetConfig(cfg)
	c := newClient(t, a, 5*time.Second)
	ctx := context.Background()
	state := models.EndpointStateWaitingDashForDashIdentity
	req := &models.EndpointChangeRequest{ContainerID: "c1", ContainerInterfaceName: "tmp1",
		DockerEndpointID: "e1", ContainerName: "web-1", K8sNamespace: "shop", K8sPodName: "web-1",
		Addressing: &models.AddressPair{IPv4: "10.77.0.5"}, Labels: []string{"container:a=b"}, State: &state}
	a.Allocate(netip.MustParseAddr("10.77.0.5"), "me")
	ep, err := c.CreateEndpoint(ctx, req)
	if err != nil {
		t.Fatalf("CreateEndpoint: %v", err)
	}
	if ep.ID == 0 || *ep.Status.State != models.EndpointStateReady || ep.Status.Identity.ID == 0 {
		t.Errorf("created endpoint: got id %d state %s identity %+v", ep.ID, *ep.Status.State, ep.Status.Identity)
	}
	if _, err := c.CreateEndpoint(ctx, req); !errors.Is(err, agent.ErrExists) || !strings.Contains(err.Error(), "c1:tmp1") {
		t.Errorf("duplicate create: got %v, want ErrExists for attachment c1:tmp1", err)
	}
	if cid, ifName, ok := agent.Attachment(ep); !ok || cid != "c1" || ifName != "tmp1" {
		t.Errorf("Attachment: got %q, %q, %v; want c1, tmp1", cid, ifName, ok)
	}
	// The forms both versions accept.
	for _, id := range []string{"1001", "cilium-local:1001", agent.AttachmentID("c1", "tmp1"), "ipv4:10.77.0.5", "cep-name:shop/web-1"} {
		if got, err := c.Endpoint(ctx, id); err != nil || got.ID != ep.ID {
			t.Errorf("Endpoint(%q): got %v, %v, want id %d", id, got, err, ep.ID)
		}
	}
	x := ep.Status.ExternalIdentifiers
	legacy := []string{"docker-endpoint:e1", "container-id:c1", "container-name:web-1", "pod-name:shop/web-1"}
	switch v {
	case agenttest.V1_19:
		for _, id := range legacy {
			if got, err := c.Endpoint(ctx, id); err != nil || got.ID != ep.ID {
				t.Errorf("v1.19 Endpoint(%q): got %v, %v, want id %d", id, got, err, ep.ID)
			}
		}
		if x.DockerEndpointID != "e1" || x.ContainerID != "c1" || x.ContainerName != "web-1" || x.PodName != "shop/web-1" {
			t.Errorf("v1.19 external identifiers: got %+v, want all of them", x)
		}
		if _, err := c.Endpoint(ctx, "container-name:x"); !errors.Is(err, agent.ErrNotFound) {
			t.Errorf("Endpoint(unknown name): got %v, want ErrNotFound", err)
		}
	case agenttest.V1_20:
		for _, id := range legacy {
			prefix, _, _ := strings.Cut(id, ":")
			_, err := c.Endpoint(ctx, id)
			if err == nil || errors.Is(err, agent.ErrNotFound) || !strings.Contains(err.Error(), `unknown endpoint ID prefix \"`+prefix+`\"`) {
				t.Errorf("v1.20 Endpoint(%q): got %v, want the 400 unknown endpoint ID prefix", id, err)
			}
		}
		if want := (models.EndpointIdentifiers{CniAttachmentID: "c1:tmp1"}); *x != want {
			t.Errorf("v1.20 external identifiers: got %+v, want only cni-attachment-id", x)
		}
	}
	if _, err := c.Endpoint(ctx, agent.AttachmentID("c1", "tmp2")); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("Endpoint(other attachment): got %v, want ErrNotFound", err)
	}
	if err := c.SetLabels(ctx, "1001", []string{"container:x=y"}); err != nil {
		t.Fatalf("SetLabels: %v", err)
	}
	if got := a.Endpoints()[0].Status.Labels.Realized.User; len(got) != 1 || got[0] != "container:x=y" {
		t.Errorf("labels after patch: got %v, want [container:x=y]", got)
	}
	eps, err := c.Endpoints(ctx)
	if err != nil || len(eps) != 2 || eps[0].ID != agenttest.HostEndpointID {
		t.Errorf("Endpoints: got %d endpoints, %v; want the host endpoint and ours", len(eps), err)
	}
	if code, _ := raw(t, a, http.MethodDelete, "/v1/endpoint/1001"); code != 200 {
		t.Errorf("first DELETE: got %d, want 200", code)
	}
	if code, _ := raw(t, a, http.MethodDelete, "/v1/endpoint/1001"); code != 404 {
		t.Errorf("second DELETE: got %d, want 404", code)
	}
	if _, held := a.Allocated()[netip.MustParseAddr("10.77.0.5")]; held {
		t.Error("endpoint delete left its address allocated")
	}
}

// TestLabelPatches pins the fake to what a v1.19.3 agent showed: labels given at create are not in
// the realized user labels, and an endpoint created without labels keeps reserved:init beside patched
// labels until a patch that changes nothing.
func TestLabelPatches(t *testing.T) {
	a := agenttest.New(t)
	c := newClient(t, a, 5*time.Second)
	ctx := context.Background()
	state := models.EndpointStateWaitingDashForDashIdentity
	create := func(eid, ip string, labels ...string) string {
		t.Helper()
		a.Allocate(netip.MustParseAddr(ip), "me")
		ep, err := c.CreateEndpoint(ctx, &models.EndpointChangeRequest{ContainerID: eid, ContainerInterfaceName: "tmp",
			Addressing: &models.AddressPair{IPv4: ip}, Labels: labels, State: &state})
		if err != nil {
			t.Fatalf("CreateEndpoint: %v", err)
		}
		return fmt.Sprint(ep.ID)
	}
	check := func(id string, user, identity []string) {
		t.Helper()
		ep, err := c.Endpoint(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := ep.Status.Labels.Realized.User; !slices.Equal(got, user) {
			t.Errorf("endpoint %s realized user labels: got %v, want %v", id, got, user)
		}
		if got := ep.Status.Identity.Labels; !slices.Equal(got, identity) {
			t.Errorf("endpoint %s identity labels: got %v, want %v", id, got, identity)
		}
	}
	patch := func(id string, labels ...string) {
		t.Helper()
		if err := c.SetLabels(ctx, id, labels); err != nil {
			t.Fatal(err)
		}
	}

	withLabels := create("e1", "10.77.0.5", "container:a=b")
	check(withLabels, nil, []string{"container:a=b"})
	patch(withLabels, "container:a=b")
	check(withLabels, nil, []string{"container:a=b"})

	bare := create("e2", "10.77.0.6")
	check(bare, nil, []string{"reserved:init"})
	patch(bare, "container:a=b")
	check(bare, []string{"container:a=b"}, []string{"container:a=b", "reserved:init"})
	patch(bare, "container:a=b")
	check(bare, []string{"container:a=b"}, []string{"container:a=b"})
}

func TestFaults(t *testing.T) {
	a := agenttest.New(t)
	c := newClient(t, a, 5*time.Second)
	ctx := context.Background()

	a.SetFault(agenttest.RouteConfig, agenttest.Fault{Status: 429, Times: 2})
	if _, err := c.Config(ctx); err != nil {
		t.Errorf("Config after two 429: got %v, want success through the client's retry", err)
	}
	if n := len(a.RequestsTo(agenttest.RouteConfig)); n != 3 {
		t.Errorf("config requests: got %d, want 3", n)
	}

	a.SetFault(agenttest.RouteConfig, agenttest.Fault{Hang: true})
	short := newClient(t, a, 100*time.Millisecond)
	start := time.Now()
	if _, err := short.Config(ctx); err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("Config on a hanging agent: got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Config on a hanging agent took %v, want about 100ms", d)
	}

	a.SetFault(agenttest.RouteConfig, agenttest.Fault{Disconnect: true})
	if _, err := c.Config(ctx); err == nil {
		t.Error("Config on a dropped connection: got success, want an error")
	}
	a.ClearFaults()

	a.Stop()
	if _, err := c.Config(ctx); !errors.Is(err, agent.ErrUnreachable) {
		t.Errorf("Config on a stopped agent: got %v, want ErrUnreachable", err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("Start again: %v", err)
	}
	if _, err := c.Config(ctx); err != nil {
		t.Errorf("Config after restart: got %v, want success", err)
	}
}
