package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
)

func newClient(t *testing.T, a *agenttest.Agent, to agent.Timeouts) *agent.Client {
	t.Helper()
	c, err := agent.New(a.Addr(), to)
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	return c
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		fault    agenttest.Fault
		wantErr  string // "" = success
		wantReqs int    // 0 = do not check
		limited  int    // rate-limit answers observed; -1 = at least one
	}{
		{"429 twice", agenttest.Fault{Status: 429, Times: 2}, "", 3, 2},
		{"503 once", agenttest.Fault{Status: 503, Times: 1}, "", 2, 0},
		{"429 until the deadline", agenttest.Fault{Status: 429}, "429", 0, -1},
		{"500 is final", agenttest.Fault{Status: 500}, "status 500", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agenttest.New(t)
			var limited atomic.Int64
			c, err := agent.New(a.Addr(), agent.Timeouts{Call: 500 * time.Millisecond}, agent.WithRateLimitObserver(func(call string) {
				if call == "get config" {
					limited.Add(1)
				}
			}))
			if err != nil {
				t.Fatal(err)
			}
			a.SetFault(agenttest.RouteConfig, tt.fault)
			start := time.Now()
			_, err = c.Config(context.Background())
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Config took %v, want it bounded by the 500ms deadline", d)
			}
			if tt.wantErr == "" && err != nil {
				t.Errorf("Config: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Config: got %v, want an error containing %q", err, tt.wantErr)
			}
			if n := len(a.RequestsTo(agenttest.RouteConfig)); tt.wantReqs != 0 && n != tt.wantReqs {
				t.Errorf("requests: got %d, want %d", n, tt.wantReqs)
			}
			if n := limited.Load(); (tt.limited >= 0 && n != int64(tt.limited)) || (tt.limited < 0 && n == 0) {
				t.Errorf("rate-limit answers observed: got %d, want %d (-1: some)", n, tt.limited)
			}
		})
	}
}

func TestErrorsClassified(t *testing.T) {
	a := agenttest.New(t)
	c := newClient(t, a, agent.Timeouts{})
	ctx := context.Background()
	if _, err := c.Endpoint(ctx, agent.AttachmentID("nope", "eth0")); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("Endpoint(unknown): got %v, want ErrNotFound", err)
	}
	if deleted, err := c.DeleteEndpoint(ctx, "4242"); err != nil || deleted {
		t.Errorf("DeleteEndpoint(gone): got %v, %v, want success, not deleted", deleted, err)
	}
	ip := netip.MustParseAddr("10.77.4.4")
	a.Allocate(ip, "other")
	if err := c.Claim(ctx, ip, "me"); !errors.Is(err, agent.ErrConflict) {
		t.Errorf("Claim(held): got %v, want ErrConflict", err)
	}
	if err := c.Release(ctx, netip.MustParseAddr("10.77.5.5")); err != nil {
		t.Errorf("Release(free): got %v, want success", err)
	}
	if reqs := a.RequestsTo(agenttest.RouteRelease); len(reqs) != 1 || reqs[0].Query.Get("pool") != "default" {
		t.Errorf("release request: got %+v, want one with pool=default", reqs)
	}
	a.Stop()
	_, err := c.Config(ctx)
	if !errors.Is(err, agent.ErrUnreachable) || !strings.Contains(err.Error(), "cilium-agent not reachable at "+a.Addr()) {
		t.Errorf("Config(agent down): got %v, want cilium-agent not reachable at %s", err, a.Addr())
	}
}

func TestCachedConfig(t *testing.T) {
	a := agenttest.New(t)
	c := agent.NewCached(newClient(t, a, agent.Timeouts{}), time.Hour)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Config(ctx); err != nil {
			t.Fatalf("Config: %v", err)
		}
	}
	if n := len(a.RequestsTo(agenttest.RouteConfig)); n != 1 {
		t.Errorf("config requests: got %d, want 1 (cached)", n)
	}

	stale := agent.NewCached(newClient(t, a, agent.Timeouts{}), time.Nanosecond)
	if _, err := stale.Config(ctx); err != nil {
		t.Fatalf("Config: %v", err)
	}
	a.Stop()
	cfg, err := stale.Config(ctx)
	if err != nil || cfg.RouteMTU != 1450 {
		t.Errorf("Config with the agent down after a first read: got %+v, %v; want the stale configuration", cfg, err)
	}
	fresh := agent.NewCached(newClient(t, a, agent.Timeouts{}), time.Hour)
	if _, err := fresh.Config(ctx); !errors.Is(err, agent.ErrUnreachable) {
		t.Errorf("first Config with the agent down: got %v, want ErrUnreachable", err)
	}
}

// TestParallelCreatesBounded: a burst of endpoint creates reaches the agent at most ParallelCreates at
// a time, every one succeeds when the deadline fits the queue, and one whose deadline ends while it
// waits for a slot fails saying so.
func TestParallelCreatesBounded(t *testing.T) {
	a := agenttest.New(t)
	a.SetFault(agenttest.RoutePutEndpoint, agenttest.Fault{Latency: 50 * time.Millisecond})
	c := newClient(t, a, agent.Timeouts{Create: 5 * time.Second, ParallelCreates: 2})
	state := models.EndpointStateWaitingDashForDashIdentity
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			ip := netip.MustParseAddr(fmt.Sprintf("10.77.1.%d", i+1))
			a.Allocate(ip, "me")
			_, err := c.CreateEndpoint(context.Background(), &models.EndpointChangeRequest{
				ContainerID: fmt.Sprintf("c%d", i), ContainerInterfaceName: "tmp", State: &state,
				Addressing: &models.AddressPair{IPv4: ip.String()}})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("create in a burst: %v", err)
		}
	}
	if got := a.MaxInFlight(agenttest.RoutePutEndpoint); got != 2 {
		t.Errorf("creates in flight at once: got %d, want 2", got)
	}

	// Two slow creates hold both slots; a third with a short deadline gives up waiting.
	a.SetFault(agenttest.RoutePutEndpoint, agenttest.Fault{Latency: time.Second})
	for i := range 2 {
		go func() {
			_, _ = c.CreateEndpoint(context.Background(), &models.EndpointChangeRequest{
				ContainerID: fmt.Sprintf("slow%d", i), ContainerInterfaceName: "tmp", State: &state})
		}()
	}
	testkit.Eventually(t, 2*time.Second, "the two slow creates to reach the agent", func() error {
		if got := len(a.RequestsTo(agenttest.RoutePutEndpoint)); got < n+2 {
			return fmt.Errorf("%d creates, want %d", got, n+2)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.CreateEndpoint(ctx, &models.EndpointChangeRequest{ContainerID: "late", State: &state})
	if err == nil || !strings.Contains(err.Error(), "waiting for a free slot") {
		t.Errorf("create behind a full queue: got %v, want a deadline error while waiting for a slot", err)
	}
}

// TestCreateQueueWaitsWhileTheAgentAnswers: a burst longer than the create deadline, through two slots,
// all succeeds: a create waits for its slot while the agent answers the ones ahead of it.
func TestCreateQueueWaitsWhileTheAgentAnswers(t *testing.T) {
	a := agenttest.New(t)
	a.SetFault(agenttest.RoutePutEndpoint, agenttest.Fault{Latency: 150 * time.Millisecond})
	const create = 400 * time.Millisecond
	c := newClient(t, a, agent.Timeouts{Create: create, ParallelCreates: 2})
	state := models.EndpointStateWaitingDashForDashIdentity
	const n = 12
	errs := make(chan error, n)
	start := time.Now()
	for i := range n {
		go func() {
			ip := netip.MustParseAddr(fmt.Sprintf("10.77.2.%d", i+1))
			a.Allocate(ip, "me")
			_, err := c.CreateEndpoint(context.Background(), &models.EndpointChangeRequest{
				ContainerID: fmt.Sprintf("q%d", i), ContainerInterfaceName: "tmp", State: &state,
				Addressing: &models.AddressPair{IPv4: ip.String()}})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("create in a burst the agent works through: %v", err)
		}
	}
	if took := time.Since(start); took < 2*create {
		t.Fatalf("the burst took %s: it should outlast the create deadline (%s) twice to test the queue", took, create)
	}
}

// TestCreateQueueGivesUpOnAStalledAgent: behind a create the agent never answers, the creates waiting
// for its slot fail within two create deadlines, saying the agent did not answer in time.
func TestCreateQueueGivesUpOnAStalledAgent(t *testing.T) {
	a := agenttest.New(t)
	a.SetFault(agenttest.RoutePutEndpoint, agenttest.Fault{Latency: 10 * time.Second})
	const create = 300 * time.Millisecond
	c := newClient(t, a, agent.Timeouts{Create: create, ParallelCreates: 1})
	state := models.EndpointStateWaitingDashForDashIdentity
	create1 := func(id string) error {
		_, err := c.CreateEndpoint(context.Background(), &models.EndpointChangeRequest{ContainerID: id, State: &state})
		return err
	}
	go func() { _ = create1("held") }()
	testkit.Eventually(t, 2*time.Second, "the held create to reach the agent", func() error {
		if len(a.RequestsTo(agenttest.RoutePutEndpoint)) < 1 {
			return errors.New("no create")
		}
		return nil
	})
	start := time.Now()
	errs := make(chan error, 3)
	for i := range 3 {
		go func() { errs <- create1(fmt.Sprintf("w%d", i)) }()
	}
	queued := 0
	for range 3 {
		err := <-errs
		if err == nil || !strings.Contains(err.Error(), "did not answer create endpoint in time") {
			t.Errorf("create behind a stalled agent: got %v, want a deadline error", err)
		}
		if err != nil && strings.Contains(err.Error(), "none of the 1 creates in flight was answered for 300ms") {
			queued++
		}
	}
	if took := time.Since(start); took > 2*create+time.Second {
		t.Errorf("the waiting creates failed after %s, want within two create deadlines (%s)", took, 2*create)
	}
	if queued == 0 {
		t.Error("no waiting create gave up in the queue")
	}
}

// TestObserver: every agent call reaches the observer once, named by what it does (no IDs, which
// would make a metric label unbounded), with its error.
func TestObserver(t *testing.T) {
	a := agenttest.New(t)
	type seen struct {
		call   string
		failed bool
	}
	var got []seen
	c, err := agent.New(a.Addr(), agent.Timeouts{}, agent.WithObserver(func(call string, _ time.Duration, err error) {
		got = append(got, seen{call, err != nil})
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Config(ctx); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Endpoint(ctx, agent.AttachmentID("nope", "tmp"))
	_ = c.Release(ctx, netip.MustParseAddr("10.77.9.9"))
	want := []seen{{"get config", false}, {"get endpoint", true}, {"release address", false}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}

// TestStartupWaitOnlyForAnAgentNotUpYet: within the startup window a call waits for an agent that has
// never answered (boot ordering), but once the agent answered, its absence is an outage: calls fail
// fast, as outside the window.
func TestStartupWaitOnlyForAnAgentNotUpYet(t *testing.T) {
	a := agenttest.New(t)
	c := newClient(t, a, agent.Timeouts{Startup: 20 * time.Second})
	ctx := agent.AwaitStartup(context.Background())
	if _, err := c.Config(ctx); err != nil {
		t.Fatal(err)
	}
	a.Stop()
	start := time.Now()
	_, err := c.Config(ctx)
	if !errors.Is(err, agent.ErrUnreachable) {
		t.Fatalf("Config with the agent gone: got %v, want ErrUnreachable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Config with the agent gone after it answered took %v, want it to fail fast", d)
	}
}
