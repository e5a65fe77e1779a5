package driver_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/egress"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/labels"
)

// fakeEgress is the store of generated policies: what the policy binary and the node's sync hold.
type fakeEgress struct {
	mu      sync.Mutex
	docs    map[string]string // guarded by mu
	applies int               // guarded by mu
	refuse  error             // guarded by mu: Apply's answer when set
	listErr error             // guarded by mu: List's answer when set (with what it holds: a partial read)
	deletes []string          // guarded by mu: the names Delete was called with, in order
	// onApply, when set, runs in Apply after the document is stored, before Apply returns.
	onApply func(name string)
}

func newFakeEgress() *fakeEgress { return &fakeEgress{docs: map[string]string{}} }

func (f *fakeEgress) Apply(_ context.Context, name, doc string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applies++
	if f.refuse != nil {
		return f.refuse
	}
	f.docs[name] = doc
	if hook := f.onApply; hook != nil {
		f.mu.Unlock()
		defer f.mu.Lock()
		hook(name)
	}
	return nil
}

func (f *fakeEgress) Delete(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, name)
	delete(f.docs, name)
	return nil
}

func (f *fakeEgress) List(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.docs)), f.listErr
}

func (f *fakeEgress) stored() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.docs)
}

func TestEgressKeysAgree(t *testing.T) {
	if labels.EgressKey != egress.Key {
		t.Fatalf("labels.EgressKey %q, egress.Key %q", labels.EgressKey, egress.Key)
	}
}

// TestJoinEgress: a container with an allow-list label gets its policy before its endpoint, selecting
// its whole identity (with the list's stamp); a replica with the same labels shares it; the policy
// goes with the last of them.
func TestJoinEgress(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid := hexID("net")
	lbl := map[string]string{"name": "agent", labels.EgressKey: "allowed.test:8080/tcp"}
	var eids []string
	for _, n := range []string{"a1", "a2"} {
		eid := hexID(n)
		e.createEndpoint(t, nid, eid)
		e.docker.AddContainer(dockertest.Container{ID: hexID("c" + n), Name: n, Labels: lbl, Networks: map[string]string{nid: eid}})
		e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
		eids = append(eids, eid)
	}
	docs := e.egress.stored()
	if len(docs) != 1 {
		t.Fatalf("generated policies: got %d, want 1 shared by both replicas: %v", len(docs), docs)
	}
	reqs := e.agent.ChangeRequests()
	if len(reqs) != 2 {
		t.Fatalf("endpoint creates: %d, want 2", len(reqs))
	}
	for name, doc := range docs {
		if !strings.HasPrefix(name, egress.NamePrefix) || name != egress.Name("n1", reqs[0].Labels) {
			t.Errorf("policy name %q, want egress.Name of node n1 and the identity %v", name, reqs[0].Labels)
		}
		stamped := false
		for _, l := range reqs[0].Labels {
			stamped = stamped || strings.HasPrefix(l, labels.Source+":"+labels.EgressStampKey+"=")
			k, v, _ := strings.Cut(l, "=")
			if !strings.Contains(doc, `"`+k+`": "`+v+`"`) {
				t.Errorf("policy does not select identity label %s:\n%s", l, doc)
			}
		}
		if !stamped || !strings.Contains(doc, `{matchName: "allowed.test"}`) || !strings.Contains(doc, `port: "8080", protocol: TCP`) {
			t.Errorf("identity %v stamped %v; policy:\n%s", reqs[0].Labels, stamped, doc)
		}
	}
	e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eids[0]})
	if len(e.egress.stored()) != 1 {
		t.Fatal("the policy went while a replica still runs")
	}
	e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eids[1]})
	if docs := e.egress.stored(); len(docs) != 0 {
		t.Fatalf("policies left after the last container left: %v", docs)
	}
}

// TestJoinEgressRefused: a bad label, or a policy the store refuses, fails Join with the reason and
// leaves no policy and no agent endpoint; an image's label does not count.
func TestJoinEgressRefused(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		refuse      error
		wantErr     string
	}{
		{"bad port", "allowed.test:99999", nil, `port "99999"`},
		{"bad pattern", "allowed.*.test", nil, "'*' only as the whole first label"},
		{"store refuses", "allowed.test", errors.New("refused by the parser"), "refused by the parser"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, defaultTimeouts)
			e.egress.refuse = tt.refuse
			nid, eid := hexID("net"), hexID("ep")
			e.createEndpoint(t, nid, eid)
			e.docker.AddContainer(dockertest.Container{ID: hexID("c"), Name: "c", Labels: map[string]string{labels.EgressKey: tt.value},
				Networks: map[string]string{nid: eid}})
			code, out := e.call(t, "NetworkDriver.Join", joinRequest(nid, eid))
			if code != http.StatusInternalServerError || !strings.Contains(out["Err"].(string), tt.wantErr) ||
				!strings.Contains(out["Err"].(string), labels.EgressKey) {
				t.Errorf("Join: got %d %v, want 500 naming the label and %q", code, out, tt.wantErr)
			}
			if eps := e.agent.Endpoints(); len(eps) != 0 {
				t.Errorf("refused Join left agent endpoints: %s", mustJSON(eps))
			}
			if docs := e.egress.stored(); len(docs) != 0 {
				t.Errorf("refused Join left policies: %v", docs)
			}
		})
	}
	t.Run("image's label", func(t *testing.T) {
		e := newEnv(t, defaultTimeouts)
		nid, eid := hexID("net"), hexID("ep")
		e.createEndpoint(t, nid, eid)
		img := map[string]string{labels.EgressKey: "allowed.test"}
		e.docker.AddImage(hexID("img"), img)
		e.docker.AddContainer(dockertest.Container{ID: hexID("c"), Name: "c", Image: hexID("img"), Labels: img,
			Networks: map[string]string{nid: eid}})
		e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
		e.egress.mu.Lock()
		defer e.egress.mu.Unlock()
		if e.egress.applies != 0 {
			t.Error("an image's allow-list label made a policy")
		}
	})
}

// drvPolicyName is the name of the generated policy of identity on the env's node.
func (e *env) drvPolicyName(identity []string) string { return egress.Name("n1", identity) }

// TestEgressPerName: a slow store of one policy holds up no work on another (a Leave that removes
// one), while work on the same policy waits: the last Leave of a policy a Join is storing meanwhile
// does not remove it.
func TestEgressPerName(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid := hexID("net")
	other := e.joinEgress(t, nid, "other", "other.test")
	first := e.joinEgress(t, nid, "a", "allowed.test")
	sameName := egress.Name("n1", e.agent.ChangeRequests()[1].Labels)
	release := make(chan struct{})
	e.egress.onApply = func(string) { <-release }
	joined := make(chan string, 1)
	go func() { // a replica of "a": the same identity, the same policy
		eid := hexID("ep-a-2")
		e.createEndpoint(t, nid, eid)
		e.docker.AddContainer(dockertest.Container{ID: hexID("c-a-2"), Name: "a-2", Networks: map[string]string{nid: eid},
			Labels: map[string]string{"name": "a", labels.EgressKey: "allowed.test"}})
		code, out := e.call(t, "NetworkDriver.Join", joinRequest(nid, eid))
		joined <- fmt.Sprint(code, out)
	}()
	testkit.Eventually(t, 5*time.Second, "the replica's store under way", func() error {
		if e.egress.applyCount() < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	left := make(chan struct{})
	go func() { e.leave(t, nid, other); close(left) }()
	select { // another policy's removal does not wait for the store
	case <-left:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("the Leave of another policy waited for a store of this one")
	}
	leftA := make(chan struct{})
	go func() { e.leave(t, nid, first); close(leftA) }()
	testkit.Eventually(t, 5*time.Second, "a's endpoint deleted by its Leave", func() error {
		if n := len(e.agent.Endpoints()); n != 0 {
			return fmt.Errorf("%d endpoints", n)
		}
		return nil
	})
	close(release)
	<-leftA
	if got := <-joined; !strings.HasPrefix(got, "200") {
		t.Fatalf("replica's Join: %s", got)
	}
	if _, ok := e.egress.stored()[sameName]; !ok {
		t.Fatalf("the last Leave of a policy removed it while a replica's Join stored it: %v", e.egress.stored())
	}
	e.egress.mu.Lock()
	defer e.egress.mu.Unlock()
	if slices.Contains(e.egress.deletes, sameName) {
		t.Errorf("deletes %v: the policy of a joining replica was removed", e.egress.deletes)
	}
}

func (f *fakeEgress) applyCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applies
}
