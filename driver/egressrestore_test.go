package driver_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/egress"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/labels"
)

// joinEgress joins a container named name with the allow-list value and returns its endpoint.
func (e *env) joinEgress(t *testing.T, nid, name, value string) string {
	t.Helper()
	eid := hexID("ep-" + name)
	e.createEndpoint(t, nid, eid)
	e.docker.AddContainer(dockertest.Container{ID: hexID("c-" + name), Name: name, Networks: map[string]string{nid: eid},
		Labels: map[string]string{"name": name, labels.EgressKey: value}})
	e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	return eid
}

func (e *env) leave(t *testing.T, nid, eid string) {
	t.Helper()
	e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eid})
}

func names(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// TestEgressRestartLeave: after a plugin restart the counts come back from the agent's endpoints, so
// the last Leave still removes the policy, and not before.
func TestEgressRestartLeave(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid := hexID("net")
	a := e.joinEgress(t, nid, "a", "allowed.test")
	b := e.joinEgress(t, nid, "a2", "allowed.test") // another identity (name=a2): its own policy
	if n := len(e.egress.stored()); n != 2 {
		t.Fatalf("%d policies, want 2", n)
	}
	e.restartPlugin(t)
	if removed, err := e.drv.Egress().Restore(context.Background()); err != nil || removed != 0 {
		t.Fatalf("Restore: removed %d, %v; want 0, nil", removed, err)
	}
	e.leave(t, nid, a)
	if n := len(e.egress.stored()); n != 1 {
		t.Fatalf("after a's Leave: %d policies, want b's only", n)
	}
	e.leave(t, nid, b)
	if docs := e.egress.stored(); len(docs) != 0 {
		t.Fatalf("the last Leave after a restart left %v", names(docs))
	}
}

// TestEgressRestoreSweep: Restore removes this node's generated policies that no endpoint uses, and
// nothing else: not one an endpoint carries the stamp of, not another node's, not a policy of another
// kind.
func TestEgressRestoreSweep(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid := hexID("net")
	e.joinEgress(t, nid, "live", "allowed.test")
	live := names(e.egress.stored())
	leaked := egress.Name("n1", []string{"container:cilium-docker/egress=0123456789abcdef", "container:name=gone"})
	otherNode := egress.Name("n2", []string{"container:cilium-docker/egress=0123456789abcdef", "container:name=gone"})
	for _, n := range []string{leaked, otherNode, "web-allow"} {
		e.egress.docs[n] = "doc"
	}
	e.restartPlugin(t)
	removed, err := e.drv.Egress().Restore(context.Background())
	if err != nil || removed != 1 {
		t.Fatalf("Restore: removed %d, %v; want 1, nil", removed, err)
	}
	want := slices.Sorted(slices.Values(append(live, otherNode, "web-allow")))
	if got := names(e.egress.stored()); !slices.Equal(got, want) {
		t.Fatalf("policies after Restore: %v, want %v (%s removed)", got, want, leaked)
	}
}

// TestEgressRestoreIncomplete: when either read fails, or the policy list is partial, Restore
// removes nothing, and says why.
func TestEgressRestoreIncomplete(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault func(e *env)
	}{
		{"policy list fails", func(e *env) { e.egress.listErr = errors.New("etcd unreachable") }},
		{"agent endpoints fail", func(e *env) {
			e.agent.SetFault(agenttest.RouteListEndpoints, agenttest.Fault{Status: 500, Body: `"agent busy"`})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, defaultTimeouts)
			leaked := egress.Name("n1", []string{"container:name=gone"})
			e.egress.docs[leaked] = "doc"
			tt.fault(e)
			if _, err := e.drv.Egress().Restore(context.Background()); err == nil {
				t.Error("Restore: no error")
			}
			if _, ok := e.egress.stored()[leaked]; !ok {
				t.Error("Restore removed a policy after an incomplete read")
			}
		})
	}
}

// TestEgressRestoreJoinInFlight: a Join stores its policy before it creates the endpoint; Restore in
// that window keeps the policy.
func TestEgressRestoreJoinInFlight(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid := hexID("net")
	e.agent.SetFault(agenttest.RoutePutEndpoint, agenttest.Fault{Latency: 2 * time.Second, Times: 1})
	joined := make(chan string, 1)
	go func() {
		eid := hexID("ep-slow")
		e.createEndpoint(t, nid, eid)
		e.docker.AddContainer(dockertest.Container{ID: hexID("c-slow"), Name: "slow", Networks: map[string]string{nid: eid},
			Labels: map[string]string{"name": "slow", labels.EgressKey: "allowed.test"}})
		code, out := e.call(t, "NetworkDriver.Join", joinRequest(nid, eid))
		joined <- fmt.Sprint(code, out)
	}()
	testkit.Eventually(t, 5*time.Second, "the Join's endpoint create under way", func() error {
		if len(e.agent.RequestsTo(agenttest.RoutePutEndpoint)) == 0 || len(e.egress.stored()) == 0 {
			return errors.New("not yet")
		}
		return nil
	})
	if eps := e.agent.Endpoints(); len(eps) != 0 {
		t.Fatalf("the endpoint exists already (%d): the test needs the window before it", len(eps))
	}
	if removed, err := e.drv.Egress().Restore(context.Background()); err != nil || removed != 0 {
		t.Fatalf("Restore during the Join: removed %d, %v; want 0, nil", removed, err)
	}
	if got := <-joined; !strings.HasPrefix(got, "200") {
		t.Fatalf("Join: %s", got)
	}
	if n := len(e.egress.stored()); n != 1 {
		t.Fatalf("%d policies after the Join, want 1", n)
	}
}
