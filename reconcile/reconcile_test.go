package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// The reconciler runs on the real clients and links.
var (
	_ Docker = (*dockerapi.Client)(nil)
	_ Agent  = (*agent.Client)(nil)
	_ Agent  = (*agent.Cached)(nil)
	_ Links  = (*endpoint.Veths)(nil)
	_ Links  = (*fakeLinks)(nil)
)

const owner = "cilium-docker"

func hexID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// fakeLinks holds owned host links by name.
type fakeLinks struct {
	mu      sync.Mutex
	links   map[string]endpoint.Link // guarded by mu
	deleted []string                 // guarded by mu
}

func (f *fakeLinks) ListOwned(context.Context) ([]endpoint.Link, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Collect(maps.Values(f.links)), nil
}

func (f *fakeLinks) ListUnfinished(context.Context) ([]string, error) { return nil, nil }

func (f *fakeLinks) DeleteOwned(_ context.Context, host string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.links, host)
	f.deleted = append(f.deleted, host)
	return nil
}

func (f *fakeLinks) has(eid endpoint.ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.links[endpoint.NamesFor(eid).Host]
	return ok
}

// clock is the test's time: every pass and tracker mark reads it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	agent   *agenttest.Agent
	docker  *dockertest.Docker
	ac      *agent.Client
	links   *fakeLinks
	tracker *Tracker
	clock   *clock
	r       *Reconciler
	nid     string
	next    netip.Addr
	mu      sync.Mutex
	removed []endpoint.ID // guarded by mu: what the reconciler reported removed (Deps.Removed)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{agent: agenttest.New(t), docker: dockertest.New(t), links: &fakeLinks{links: map[string]endpoint.Link{}},
		clock: &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, nid: hexID("net"),
		next: netip.MustParseAddr("10.77.1.0")}
	var err error
	if e.ac, err = agent.New(e.agent.Addr(), agent.Timeouts{Call: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	dc, err := dockerapi.New(e.docker.Host(), 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	e.tracker = NewTracker()
	e.tracker.now = e.clock.now
	e.r = New(Deps{Log: servertest.Log(), Docker: dc, Agent: e.ac, Links: e.links, Ports: &fakePorts{pub: map[endpoint.ID][]endpoint.Mapping{}},
		Tracker: e.tracker, Removed: func(_ context.Context, eid endpoint.ID) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.removed = append(e.removed, eid)
		}}, Config{Interval: time.Minute, Hold: DockerRetryWindow, Owner: owner})
	e.r.now, e.r.started = e.clock.now, e.clock.now()
	e.docker.AddNetwork(dockertest.Network{ID: e.nid, Name: "cilium-net"})
	return e
}

// object is one Docker endpoint's state at the plugin: a host link, an agent endpoint and its address.
type object struct {
	eid endpoint.ID
	ip  netip.Addr
}

// made creates the plugin's state for a Docker endpoint called name, as CreateEndpoint and Join do,
// without telling Docker anything.
func (e *env) made(t *testing.T, name string) object {
	t.Helper()
	o := object{eid: endpoint.MustParseID(hexID(name)), ip: e.address(t, owner)}
	n := endpoint.NamesFor(o.eid)
	e.links.mu.Lock()
	e.links.links[n.Host] = endpoint.Link{Names: n, NetworkID: endpoint.MustParseNetworkID(e.nid), IPv4: o.ip}
	e.links.mu.Unlock()
	state := models.EndpointStateWaitingDashForDashIdentity
	if _, err := e.ac.CreateEndpoint(t.Context(), &models.EndpointChangeRequest{ContainerID: o.eid.String(),
		ContainerInterfaceName: n.Container, InterfaceName: n.Host, State: &state,
		Addressing: &models.AddressPair{IPv4: o.ip.String()}, Labels: models.Labels{"container:name=" + name}}); err != nil {
		t.Fatalf("create agent endpoint of %s: %v", name, err)
	}
	return o
}

// address allocates the next address at the agent for owner.
func (e *env) address(t *testing.T, owner string) netip.Addr {
	t.Helper()
	e.next = e.next.Next()
	e.agent.Allocate(e.next, owner)
	return e.next
}

// container adds a container in state with its endpoint o on the network.
func (e *env) container(name, state string, o object) {
	e.docker.AddContainer(dockertest.Container{ID: hexID("ct-" + name), Name: name, State: state,
		Running: state == "running", Networks: map[string]string{e.nid: o.eid.String()}})
	e.docker.SetAddress(o.eid.String(), o.ip.String()+"/32")
}

func (e *env) pass(t *testing.T) error {
	t.Helper()
	return e.r.Pass(t.Context())
}

func (e *env) mustPass(t *testing.T) {
	t.Helper()
	if err := e.pass(t); err != nil {
		t.Fatalf("pass: %v", err)
	}
}

// present reports which of the object's three parts still exist.
func (e *env) present(t *testing.T, o object) string {
	t.Helper()
	_, err := e.ac.Endpoint(t.Context(), agent.AttachmentID(endpoint.Attachment(o.eid)))
	_, allocated := e.agent.Allocated()[o.ip]
	return fmt.Sprintf("link=%v endpoint=%v address=%v", e.links.has(o.eid), err == nil, allocated)
}

const (
	all  = "link=true endpoint=true address=true"
	none = "link=false endpoint=false address=false"
)

func TestRemovesOnlyWhatNoDockerEndpointExplains(t *testing.T) {
	e := newEnv(t)
	e.clock.advance(DockerRetryWindow)

	gone := e.made(t, "removed while the plugin was down") // docker rm: no record left
	stale := e.made(t, "stale record, container gone")     // docker rm: Docker kept a stale record
	e.docker.AddNetwork(dockertest.Network{ID: e.nid, Name: "cilium-net", Aux: map[string]string{"r": "10.77.9.9"},
		Endpoints: []dockertest.Endpoint{{ID: stale.eid.String(), Name: "app-stale", IPv4: stale.ip.String() + "/32"}}})
	e.agent.Allocate(netip.MustParseAddr("10.77.9.9"), owner) // the aux address
	leaked := e.address(t, owner)                             // a --ip claim whose release a restarted plugin did not know

	keep := map[string]object{}
	for _, st := range []string{"running", "paused", "created", "exited", "restarting"} {
		o := e.made(t, st)
		e.container(st, st, o)
		keep[st] = o
	}
	foreignIP := e.address(t, "other")
	cni := endpoint.MustParseID(hexID("cni"))
	state := models.EndpointStateWaitingDashForDashIdentity
	heldIP := e.address(t, owner) // ours, but held by an endpoint the plugin did not make
	if _, err := e.ac.CreateEndpoint(t.Context(), &models.EndpointChangeRequest{ContainerID: cni.String(),
		ContainerInterfaceName: "eth0", State: &state, Addressing: &models.AddressPair{IPv4: heldIP.String()}}); err != nil {
		t.Fatal(err)
	}

	e.mustPass(t)
	if got := e.present(t, gone); got != all {
		t.Fatalf("after one pass: %s, want %s (removal needs two)", got, all)
	}
	e.clock.advance(time.Minute)
	e.mustPass(t)

	for name, o := range map[string]object{"gone": gone, "stale": stale} {
		if got := e.present(t, o); got != none {
			t.Errorf("%s after two passes: %s, want %s", name, got, none)
		}
	}
	allocs := e.agent.Allocated()
	if _, ok := allocs[leaked]; ok {
		t.Errorf("leaked address %s still allocated after two passes", leaked)
	}
	for st, o := range keep {
		if got := e.present(t, o); got != all {
			t.Errorf("%s container's state: %s, want %s", st, got, all)
		}
	}
	for _, ip := range []netip.Addr{netip.MustParseAddr("10.77.9.9"), foreignIP, heldIP} {
		if _, ok := allocs[ip]; !ok {
			t.Errorf("address %s (aux, foreign owner, held by a foreign endpoint) was released", ip)
		}
	}
	if _, err := e.ac.Endpoint(t.Context(), agent.AttachmentID(cni.String(), "eth0")); err != nil {
		t.Errorf("foreign endpoint: %v, want it kept", err)
	}
	got := e.r.Stats()
	if !got.LastComplete || got.LastPass.IsZero() {
		t.Errorf("stats %+v: want the last pass, complete", got)
	}
	got.LastPass, got.LastComplete = time.Time{}, false
	if want := (Stats{Passes: 2, Endpoints: 2, Links: 2, Addresses: 1}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if want := []endpoint.ID{gone.eid, stale.eid}; len(e.removed) != 2 || !slices.Contains(e.removed, gone.eid) || !slices.Contains(e.removed, stale.eid) {
		t.Errorf("endpoints reported removed: %v, want %v (the driver's egress counts forget them)", e.removed, want)
	}
}

func TestNothingRemovedUnlessTwoConsecutivePassesReadEverything(t *testing.T) {
	tests := []struct {
		name         string
		fault, clear func(e *env)
	}{
		{"docker networks hang", func(e *env) { e.docker.SetFault(dockertest.RouteNetworks, dockertest.Fault{Hang: true}) },
			func(e *env) { e.docker.SetFault(dockertest.RouteNetworks, dockertest.Fault{}) }},
		{"docker container list hangs", func(e *env) { e.docker.SetFault(dockertest.RouteContainers, dockertest.Fault{Hang: true}) },
			func(e *env) { e.docker.SetFault(dockertest.RouteContainers, dockertest.Fault{}) }},
		{"agent endpoint list fails", func(e *env) { e.agent.SetFault(agenttest.RouteListEndpoints, agenttest.Fault{Status: 500}) },
			func(e *env) { e.agent.ClearFaults() }},
		{"agent health fails", func(e *env) { e.agent.SetFault(agenttest.RouteHealthz, agenttest.Fault{Status: 500}) },
			func(e *env) { e.agent.ClearFaults() }},
		{"agent down", func(e *env) { e.agent.Stop() }, func(e *env) {
			if err := e.agent.Start(); err != nil {
				panic(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.clock.advance(DockerRetryWindow)
			o := e.made(t, "orphan")
			e.mustPass(t)
			e.clock.advance(time.Minute)
			tt.fault(e)
			if err := e.pass(t); err == nil {
				t.Fatal("pass with a fault: got nil, want an error")
			}
			tt.clear(e)
			if got := e.present(t, o); got != all {
				t.Fatalf("after the failed pass: %s, want %s", got, all)
			}
			e.clock.advance(time.Minute)
			e.mustPass(t) // complete, but its predecessor was not: still nothing
			if got := e.present(t, o); got != all {
				t.Fatalf("after a complete pass that follows a failed one: %s, want %s", got, all)
			}
			e.clock.advance(time.Minute)
			e.mustPass(t)
			if got := e.present(t, o); got != none {
				t.Errorf("after two complete passes: %s, want %s", got, none)
			}
			if s := e.r.Stats(); s.Incomplete != 1 || s.Passes != 3 {
				t.Errorf("stats %+v, want 3 complete passes and 1 incomplete", s)
			}
		})
	}
}

func TestHoldAfterStart(t *testing.T) {
	e := newEnv(t)
	o := e.made(t, "orphan")
	for range 3 { // at 0, 10 s and 20 s: Docker may still deliver a call the previous process took
		e.mustPass(t)
		e.clock.advance(10 * time.Second)
	}
	if got := e.present(t, o); got != all {
		t.Fatalf("within %s of start: %s, want %s", DockerRetryWindow, got, all)
	}
	e.mustPass(t) // at 30 s
	if got := e.present(t, o); got != none {
		t.Errorf("after the hold: %s, want %s", got, none)
	}
}

func TestHandlerWorkProtects(t *testing.T) {
	e := newEnv(t)
	e.clock.advance(DockerRetryWindow)
	starting := e.made(t, "starting") // CreateEndpoint ran; Docker has not recorded the endpoint yet
	leaving := e.made(t, "leaving")   // Docker removed the record; DeleteEndpoint is running
	e.mustPass(t)
	e.clock.advance(5 * time.Second)
	e.tracker.Endpoint(starting.eid)()
	e.tracker.Address(starting.ip)()
	done := e.tracker.Endpoint(leaving.eid)
	defer done()
	e.clock.advance(55 * time.Second)
	e.mustPass(t)
	for name, o := range map[string]object{"starting": starting, "leaving": leaving} {
		if got := e.present(t, o); got != all {
			t.Errorf("%s endpoint, touched since the first pass: %s, want %s", name, got, all)
		}
	}
	e.clock.advance(time.Minute)
	e.mustPass(t)
	if got := e.present(t, starting); got != none {
		t.Errorf("starting endpoint never recorded by Docker, idle for two passes: %s, want %s", got, none)
	}
	if got := e.present(t, leaving); got != all {
		t.Errorf("endpoint a handler still works on: %s, want %s", got, all)
	}
}

func TestRun(t *testing.T) {
	e := newEnv(t)
	e.r.cfg.Interval = 10 * time.Millisecond
	e.r.cfg.Hold = 0
	e.r.now = time.Now
	e.tracker.now = time.Now
	o := e.made(t, "orphan")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.r.Run(ctx) }()
	testkit.Eventually(t, 10*time.Second, "the orphan removed by Run", func() error {
		p := e.present(t, o)
		if p == none {
			return nil
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		default:
		}
		return fmt.Errorf("orphan still there: %s", p)
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// A first sighting, or a candidate the hold keeps, asks for a sooner confirming pass; a pass with
// nothing new does not.
func TestPendingAsksForSoonerPass(t *testing.T) {
	e := newEnv(t)
	e.mustPass(t)
	if e.r.pending {
		t.Fatal("pending after a pass that found nothing")
	}
	o := e.made(t, "orphan")
	e.clock.advance(10 * time.Second)
	e.mustPass(t)
	if !e.r.pending {
		t.Fatal("not pending after the first sighting")
	}
	e.clock.advance(MinInterval)
	e.mustPass(t) // 30 s after start: confirmed and removed
	if got := e.present(t, o); got != none || e.r.pending {
		t.Fatalf("after the confirming pass: %s, pending %v; want %s, not pending", got, e.r.pending, none)
	}
}
