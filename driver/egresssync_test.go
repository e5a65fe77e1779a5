package driver_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/labels"
)

// TestLabelSyncEgress: a container whose labels Docker could not tell at Join starts without labels
// (reserved:init). The label sync stores its allow-list's policy before it gives the endpoint the
// stamped labels the policy selects; a bad label, or a store that fails, leaves the endpoint without
// labels, never stamped and unrestricted.
func TestLabelSyncEgress(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		refuse      error
	}{
		{"stored first", "allowed.test:8080/tcp", nil},
		{"bad label", "allowed.test:99999", nil},
		{"store fails", "allowed.test", errors.New("etcd unreachable")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, defaultTimeouts)
			e.egress.refuse = tt.refuse
			nid, eid, cid := hexID("net"), hexID("ep"), hexID("c")
			e.createEndpoint(t, nid, eid)
			e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid)) // the container is not listed yet
			if got := e.userLabels(eid); !slices.Equal(got, []string{"reserved:init"}) {
				t.Fatalf("labels after Join: got %v, want [reserved:init]", got)
			}
			var atStore []string
			e.egress.onApply = func(string) { atStore = e.userLabels(eid) }
			e.docker.AddContainer(dockertest.Container{ID: cid, Name: "agent", Running: true, Networks: map[string]string{nid: eid},
				Labels: map[string]string{"name": "agent", labels.EgressKey: tt.value}})
			if err := e.sync.Resync(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, docs := e.userLabels(eid), e.egress.stored()
			if tt.refuse != nil || strings.Contains(tt.value, "99999") {
				if !slices.Equal(got, []string{"reserved:init"}) || len(docs) != 0 {
					t.Fatalf("labels %v, policies %v: want [reserved:init] and none", got, docs)
				}
				return
			}
			if len(docs) != 1 || !slices.ContainsFunc(got, labels.IsEgressStamp) || slices.Contains(got, "reserved:init") {
				t.Fatalf("labels %v, policies %v: want the stamped labels and one policy", got, docs)
			}
			if !slices.Equal(atStore, []string{"reserved:init"}) {
				t.Errorf("labels while the policy was stored: %v, want [reserved:init] (the policy goes first)", atStore)
			}
			for name := range docs {
				if want := e.drvPolicyName(got); name != want {
					t.Errorf("policy %s, want %s (of the endpoint's labels)", name, want)
				}
			}
			e.mustCall(t, "NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eid})
			if docs := e.egress.stored(); len(docs) != 0 {
				t.Errorf("policies after the container left: %v", docs)
			}
		})
	}
}
