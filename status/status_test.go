package status_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/hubble"
	"github.com/cilium-docker/cilium-docker/metrics"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
	"github.com/cilium-docker/cilium-docker/status"
)

var (
	epApp1 = strings.Repeat("a", 64)
	epApp2 = strings.Repeat("b", 64)
	epGone = strings.Repeat("c", 64)
)

type fakeAgent struct {
	err  error
	hang bool
	eps  []*models.Endpoint
}

func (a *fakeAgent) wait(ctx context.Context) error {
	if a.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return a.err
}

func (a *fakeAgent) Health(ctx context.Context) (agent.Health, error) {
	return agent.Health{State: "Ok", Kvstore: "Ok", KvstoreMsg: "etcd: 1/1 connected", Hubble: "Ok"}, a.wait(ctx)
}
func (a *fakeAgent) Version(ctx context.Context) (string, error) { return "1.20.2 abc", a.wait(ctx) }
func (a *fakeAgent) Config(ctx context.Context) (*agent.Config, error) {
	return &agent.Config{IPv4: agent.Family{Enabled: true}}, a.wait(ctx)
}
func (a *fakeAgent) Endpoints(ctx context.Context) ([]*models.Endpoint, error) {
	return a.eps, a.wait(ctx)
}

type fakeDocker struct {
	err  error
	nets []dockerapi.NetworkSummary
}

func (d *fakeDocker) Engine(context.Context) (dockerapi.Engine, error) {
	return dockerapi.Engine{Version: "29.8.1", APIVersion: "1.52", NetworkPlugins: []string{"bridge", "cilium"}}, d.err
}
func (d *fakeDocker) NetworksOf(context.Context, string) ([]dockerapi.NetworkSummary, error) {
	return d.nets, d.err
}

type fakeHubble struct{}

func (fakeHubble) ServerStatus(context.Context) (hubble.Status, error) {
	return hubble.Status{Flows: 10, MaxFlows: 4095}, nil
}

func endpoint(id int64, dockerEP, state string, labels ...string) *models.Endpoint {
	st := models.EndpointState(state)
	return &models.Endpoint{ID: id, Status: &models.EndpointStatus{State: &st,
		ExternalIdentifiers: &models.EndpointIdentifiers{CniAttachmentID: dockerEP + ":tmp" + dockerEP[:11]},
		Identity:            &models.Identity{ID: 1000 + id, Labels: labels}}}
}

// pluginSocket serves Plugin.Activate on a unix socket and returns its directory.
func pluginSocket(t *testing.T) string {
	t.Helper()
	return pluginSocketWith(t, pluginMetrics(nil))
}

// pluginSocketWith serves a plugin socket whose /metrics is h.
func pluginSocketWith(t *testing.T, h http.Handler) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "st")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l, err := net.Listen("unix", filepath.Join(dir, "cilium.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "cilium.sock"), 0o660); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /Plugin.Activate", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"Implements":["NetworkDriver","IpamDriver"]}`)
	})
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return dir
}

// pluginMetrics are a healthy plugin's metrics, with the policy sync's when ps is not nil.
func pluginMetrics(ps *syncreport.Stats) http.Handler {
	m := metrics.New()
	if ps != nil {
		m.PolicySync(func() syncreport.Stats { return *ps })
	}
	m.Gauge(metrics.EndpointsManaged, "test", func() float64 { return 2 })
	m.Reconciler(func() metrics.ReconcilerStats {
		return metrics.ReconcilerStats{Passes: 7, Endpoints: 1, LastPass: time.Now().Add(-3 * time.Second), LastComplete: true}
	})
	return m.Handler(func(context.Context) error { return nil })
}

func healthyNode(t *testing.T) (status.Config, *fakeAgent, *fakeDocker) {
	dir := pluginSocket(t)
	cfg := status.Config{Socket: filepath.Join(dir, "cilium.sock"), Driver: "cilium",
		MetricsAddress: "unix://" + filepath.Join(dir, "cilium.sock"), StaleAfter: time.Minute}
	a := &fakeAgent{eps: []*models.Endpoint{
		endpoint(11, epApp1, "ready", "container:name=app1", "k8s:io.kubernetes.pod.namespace=docker"),
		endpoint(12, epApp2, "ready", "container:name=app2"),
	}}
	d := &fakeDocker{nets: []dockerapi.NetworkSummary{{Name: "cilium-net", Driver: "cilium", IPAMDriver: "cilium", Members: []dockerapi.Member{
		{Name: "app1", EndpointID: epApp1, IPv4: "10.71.0.5"}, {Name: "app2", EndpointID: epApp2, IPv4: "10.71.0.6"},
	}}}}
	return cfg, a, d
}

func check(t *testing.T, cfg status.Config, a status.Agent, d status.Docker, timeout time.Duration) (*status.Report, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r := status.New(cfg, a, d, fakeHubble{}).Check(ctx)
	var b bytes.Buffer
	if err := r.Text(&b); err != nil {
		t.Fatal(err)
	}
	return r, b.String()
}

func TestHealthy(t *testing.T) {
	cfg, a, d := healthyNode(t)
	r, out := check(t, cfg, a, d, 5*time.Second)
	if !r.Healthy() {
		t.Fatalf("healthy node needs attention:\n%s", out)
	}
	for _, want := range []string{"Plugin socket:", "NetworkDriver, IpamDriver", "1.20.2, range", "engine 29.8.1 (API 1.52), driver cilium registered",
		"Network cilium-net:", "2 endpoints managed", "7 passes, last 3s ago, 1 removed", "Policy sync:", "not reported",
		"app1       cilium-net  11        1011      ready  10.71.0.5  container:name=app1\n", "Healthy."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var b bytes.Buffer
	if err := r.JSON(&b); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Healthy    bool
		Containers []status.Container
	}
	if err := json.Unmarshal(b.Bytes(), &j); err != nil || !j.Healthy || len(j.Containers) != 2 || j.Containers[1].EndpointID != 12 {
		t.Errorf("json: %v %+v\n%s", err, j, b.String())
	}
}

func TestDisagreements(t *testing.T) {
	cfg, a, d := healthyNode(t)
	a.eps = []*models.Endpoint{
		endpoint(11, epApp1, "not-ready", "container:name=app1"),
		endpoint(13, epGone, "ready", "container:name=old"), // no container has it
	}
	r, out := check(t, cfg, a, d, 5*time.Second)
	att := r.Attention()
	var names []string
	for _, c := range att {
		names = append(names, c.Name)
		if c.Hint == "" {
			t.Errorf("%s needs attention without a hint", c.Name)
		}
	}
	t.Log("\n" + out)
	want := []string{"Container app1", "Container app2", "Endpoint 13"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("attention: got %v, want %v\n%s", names, want, out)
	}
	for _, w := range []string{"endpoint 11 is not-ready", "the agent has no endpoint for it", "docker restart app2", "cilium-dbg endpoint delete 13"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestAgentAndDockerDown: both down, the report says so (and still lists what it can), fast.
func TestAgentAndDockerDown(t *testing.T) {
	cfg, a, d := healthyNode(t)
	a.err = fmt.Errorf("get health: %w", agent.ErrUnreachable)
	d.err = errors.New("cannot connect to the docker daemon")
	r, out := check(t, cfg, a, d, 5*time.Second)
	if r.Healthy() {
		t.Fatalf("down agent and docker reported healthy:\n%s", out)
	}
	for _, w := range []string{"Cilium agent:   FAILURE", "start cilium-agent", "Docker:         FAILURE", "start dockerd", "Plugin socket:  OK"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestHungAgent: an agent that never answers costs the deadline, no more.
func TestHungAgent(t *testing.T) {
	cfg, a, d := healthyNode(t)
	a.hang = true
	start := time.Now()
	r, out := check(t, cfg, a, d, 300*time.Millisecond)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("status took %s against a hung agent, deadline 300ms", took)
	}
	if r.Healthy() || !strings.Contains(out, "does not answer in time") {
		t.Fatalf("hung agent:\n%s", out)
	}
	if len(r.Containers) != 2 || r.Containers[0].State != "agent not read" {
		t.Errorf("containers without the agent: %+v", r.Containers)
	}
}

func TestWrongIPAMAndSocketMissing(t *testing.T) {
	cfg, a, d := healthyNode(t)
	cfg.Socket = filepath.Join(t.TempDir(), "cilium.sock")
	d.nets = append(d.nets, dockerapi.NetworkSummary{Name: "mixed", Driver: "cilium", IPAMDriver: "default"})
	r, out := check(t, cfg, a, d, 5*time.Second)
	var names []string
	for _, c := range r.Attention() {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "Plugin socket,Network mixed" || !strings.Contains(out, "--ipam-driver cilium mixed") {
		t.Fatalf("attention %v:\n%s", names, out)
	}
}

// TestPolicySyncRow: the policy sync needs attention while its last pass failed or a policy is refused,
// not for errors it recovered from.
func TestPolicySyncRow(t *testing.T) {
	for _, tt := range []struct {
		stats   syncreport.Stats
		healthy bool
		want    string
	}{
		{syncreport.Stats{Revision: 117, Errors: 1}, true, "revision 117, 1 errors since start"},
		{syncreport.Stats{Revision: 117, Errors: 2, Failing: true}, false, "revision 117, last pass failed, 2 errors since start"},
		{syncreport.Stats{Revision: 118, Errors: 1, Refused: 1}, false, "revision 118, 1 policies refused"},
		{syncreport.Stats{Revision: 7}, true, "Identity GC:         OK  another node is elected; no pass here yet"},
		{syncreport.Stats{Revision: 7, GC: syncreport.IdentityGC{Leader: true, Passes: 3, LastPass: time.Now().Unix(), Alive: 12,
			Removed: 200}}, true, "OK  elected on this node; 3 passes here: 12 identities left, 200 removed, 0 failed passes; last "},
	} {
		cfg, a, d := healthyNode(t)
		dir := pluginSocketWith(t, pluginMetrics(&tt.stats))
		cfg.Socket, cfg.MetricsAddress = filepath.Join(dir, "cilium.sock"), "unix://"+filepath.Join(dir, "cilium.sock")
		r, out := check(t, cfg, a, d, 5*time.Second)
		if r.Healthy() != tt.healthy || !strings.Contains(out, tt.want) {
			t.Errorf("%+v: healthy %v, want %v; want %q in:\n%s", tt.stats, r.Healthy(), tt.healthy, tt.want, out)
		}
	}
}
