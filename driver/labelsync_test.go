package driver_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
)

// userLabels returns the identity labels of the agent endpoint of Docker endpoint eid.
func (e *env) userLabels(eid string) []string {
	for _, ep := range e.agent.Endpoints() {
		if cid, _, _ := agent.Attachment(ep); cid == eid {
			return ep.Status.Identity.Labels
		}
	}
	return nil
}

func TestLabelSyncRun(t *testing.T) {
	for _, v := range agenttest.Versions {
		t.Run(v.String(), func(t *testing.T) { testLabelSyncRun(t, v) })
	}
}

func testLabelSyncRun(t *testing.T, v agenttest.Version) {
	e := newEnvAt(t, defaultTimeouts, v)
	nid, eid, cid := hexID("net"), hexID("ep"), hexID("c")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.sync.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "the label sync to subscribe to events", func() error {
		if n := e.docker.EventStreams(); n != 1 {
			return fmt.Errorf("%d event streams", n)
		}
		return nil
	})

	// Join cannot learn the labels: the container is not listed yet.
	e.createEndpoint(t, nid, eid)
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	if got := e.userLabels(eid); !slices.Equal(got, []string{"reserved:init"}) {
		t.Fatalf("labels after Join: got %v, want [reserved:init]", got)
	}

	// The container starts: its start event brings the labels.
	e.docker.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Labels: composeLabels, Networks: map[string]string{nid: eid}})
	e.docker.StartContainer(cid)
	testkit.Eventually(t, 5*time.Second, "the start event's labels", func() error {
		if got := e.userLabels(eid); !slices.Equal(got, wantComposeLabels) {
			return fmt.Errorf("labels %q", got)
		}
		return nil
	})

	// The stream breaks while a label changes: the resync on reconnect applies it.
	labels := map[string]string{"tier": "backend"}
	e.docker.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Labels: labels, Running: true, Networks: map[string]string{nid: eid}})
	e.docker.BreakEvents()
	testkit.Eventually(t, 10*time.Second, "the resync's labels", func() error {
		if got := e.userLabels(eid); !slices.Equal(got, withK8s("docker", "container:tier=backend")) {
			return fmt.Errorf("labels %q", got)
		}
		return nil
	})
	testkit.Eventually(t, 10*time.Second, "the label sync to resubscribe", func() error {
		if n := e.docker.EventStreams(); n != 1 {
			return fmt.Errorf("%d event streams", n)
		}
		return nil
	})

	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
}

// TestResyncStable checks that a resync of labels that are already right changes nothing, whatever
// order the agent and the label policy list them in.
func TestResyncStable(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
	}{
		{"none", nil},
		{"one", map[string]string{"app": "web"}},
		{"prefix keys", map[string]string{"app": "web", "app.tier": "front", "app-x": "1", "app_y": "2"}},
		{"compose", composeLabels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, defaultTimeouts)
			nid, eid, cid := hexID("net"), hexID("ep"), hexID("c")
			e.docker.AddContainer(dockertest.Container{ID: cid, Name: "c", Labels: tt.labels, Networks: map[string]string{nid: eid}})
			e.createEndpoint(t, nid, eid)
			e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
			e.docker.StartContainer(cid)
			for range 2 {
				if err := e.sync.Resync(context.Background()); err != nil {
					t.Fatalf("Resync: %v", err)
				}
			}
			if p := e.agent.RequestsTo(agenttest.RoutePatchLabels); len(p) != 0 {
				t.Errorf("resync of unchanged labels patched them %d times, first with %s", len(p), p[0].Body)
			}
		})
	}
}

// docker network connect of a running container: Join could not learn the labels and no start event
// follows, so the connect event must bring them.
func TestLabelSyncNetworkConnect(t *testing.T) {
	for _, v := range agenttest.Versions {
		t.Run(v.String(), func(t *testing.T) {
			e := newEnvAt(t, defaultTimeouts, v)
			nid, eid, cid := hexID("net2"), hexID("ep2"), hexID("c")
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan error, 1)
			go func() { ran <- e.sync.Run(ctx) }()
			testkit.Eventually(t, 5*time.Second, "the label sync to subscribe to events", func() error {
				if n := e.docker.EventStreams(); n != 1 {
					return fmt.Errorf("%d event streams", n)
				}
				return nil
			})

			e.createEndpoint(t, nid, eid)
			e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid)) // Docker does not list it yet
			if got := e.userLabels(eid); !slices.Equal(got, []string{"reserved:init"}) {
				t.Fatalf("labels after Join: got %v, want [reserved:init]", got)
			}
			e.docker.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Labels: composeLabels, Running: true,
				Networks: map[string]string{nid: eid}})
			e.docker.EmitConnect(nid, cid)
			testkit.Eventually(t, 5*time.Second, "the connect event's labels", func() error {
				if got := e.userLabels(eid); !slices.Equal(got, wantComposeLabels) {
					return fmt.Errorf("labels %q", got)
				}
				return nil
			})
			cancel()
			if err := <-ran; err != nil {
				t.Errorf("Run: got %v, want nil", err)
			}
		})
	}
}

// TestLabelSyncSkipsWhatJoinLabelled checks that the start event of a container whose Join applied its
// labels costs no Docker inspect and no endpoint read, while one whose Join could not still gets them.
func TestLabelSyncSkipsWhatJoinLabelled(t *testing.T) {
	done := driver.NewLabelled()
	e := newEnvWith(t, defaultTimeouts, agenttest.DefaultConfig().Version, driver.DriverName, joinsWait{}, done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.sync.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "the label sync to subscribe to events", func() error {
		if n := e.docker.EventStreams(); n != 1 {
			return fmt.Errorf("%d event streams", n)
		}
		return nil
	})

	nid, eid1, eid2, cid1, cid2 := hexID("net"), hexID("ep1"), hexID("ep2"), hexID("c1"), hexID("c2")
	e.docker.AddContainer(dockertest.Container{ID: cid1, Name: "web-1", Labels: composeLabels, Networks: map[string]string{nid: eid1}})
	e.createEndpoint(t, nid, eid1)
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid1))
	if !slices.Equal(e.userLabels(eid1), wantComposeLabels) {
		t.Fatalf("labels after Join: got %v, want %v", e.userLabels(eid1), wantComposeLabels)
	}
	if done.Len() != 1 {
		t.Fatalf("Join with labels recorded %d containers, want 1", done.Len())
	}
	e.createEndpoint(t, nid, eid2)
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid2)) // not listed yet: no labels
	if done.Len() != 1 {
		t.Fatalf("Join without labels recorded a container: %d records", done.Len())
	}
	if n := e.docker.Inspects(cid1); n != 0 {
		t.Fatalf("web-1 inspected %d times before its events", n)
	}
	e.docker.StartContainer(cid1) // a connect and a start event, as dockerd sends for a start
	e.docker.AddContainer(dockertest.Container{ID: cid2, Name: "web-2", Labels: composeLabels, Networks: map[string]string{nid: eid2}})
	e.docker.StartContainer(cid2)
	// Events are handled in order: once the second container has its labels, the first's event is past.
	testkit.Eventually(t, 5*time.Second, "the second start event's labels", func() error {
		if got := e.userLabels(eid2); !slices.Equal(got, wantComposeLabels) {
			return fmt.Errorf("labels %q", got)
		}
		return nil
	})
	// The second container's connect event may label it before its start event is handled: wait for
	// that event's inspect too. The first container's events came before both, in order.
	testkit.Eventually(t, 5*time.Second, "web-2's connect and start events inspect it", func() error {
		if n := e.docker.Inspects(cid2); n != 2 {
			return fmt.Errorf("web-2 inspected %d times, want 2", n)
		}
		return nil
	})
	if n := e.docker.Inspects(cid1); n != 0 {
		t.Errorf("web-1, labelled at Join, inspected %d times for its connect and start events; want 0 (skipped)", n)
	}
}
