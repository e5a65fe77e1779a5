package driver_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/labels"
)

// TestLabelsTheAgentFilters: the fake agent filters labels with the agent's own code
// (pkg/labelsfilter), so labels the plugin let through but the agent drops showed as a failed create
// ("no valid labels provided") or a label patched again on every resync. The plugin now asks for what
// the agent keeps.
func TestLabelsTheAgentFilters(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"only annotation keys", map[string]string{"annotations.example.com/owner": "ops", "annotation_x": "1"}, withK8s("docker", labels.Unlabelled)},
		{"annotation keys beside a user label", map[string]string{"annotationfoo": "1", "app": "web"}, withK8s("docker", "container:app=web")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, defaultTimeouts)
			nid, eid, cid := hexID("net"), hexID("ep"), hexID("c")
			e.docker.AddContainer(dockertest.Container{ID: cid, Name: "c", Labels: tt.labels, Networks: map[string]string{nid: eid}})
			e.createEndpoint(t, nid, eid)
			e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
			if got := e.userLabels(eid); !slices.Equal(got, tt.want) {
				t.Fatalf("identity labels: got %v, want %v", got, tt.want)
			}
			e.docker.StartContainer(cid)
			for range 2 {
				if err := e.sync.Resync(context.Background()); err != nil {
					t.Fatalf("Resync: %v", err)
				}
			}
			if p := e.agent.RequestsTo(agenttest.RoutePatchLabels); len(p) != 0 {
				t.Errorf("resync patched %d times, first with %s: the plugin and the agent disagree", len(p), p[0].Body)
			}
		})
	}
}

// TestNomadTaskGroupOneIdentity: two allocations of one Nomad task group, labelled as Nomad's docker
// driver labels them (per-allocation alloc_id, per-node node labels), share one identity.
func TestNomadTaskGroupOneIdentity(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid := hexID("net")
	var ids []int64
	for i, alloc := range []string{"5d8c9a1e-7b3f-4c2a-9e6d-1f0b2a3c4d5e", "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"} {
		eid, cid := hexID("ep"+alloc), hexID("c"+alloc)
		l := map[string]string{
			"com.hashicorp.nomad.alloc_id": alloc, "com.hashicorp.nomad.job_name": "shop", "com.hashicorp.nomad.job_id": "shop",
			"com.hashicorp.nomad.task_group_name": "api", "com.hashicorp.nomad.task_name": "server",
			"com.hashicorp.nomad.namespace": "prod", "com.hashicorp.nomad.node_name": []string{"client-1", "client-2"}[i],
			"com.hashicorp.nomad.node_id": []string{"2b6c0e1a-1111-4b8e-9d43-6d1f3c2a7b10", "9f1c3d5e-2222-4b8e-9d43-6d1f3c2a7b10"}[i],
		}
		e.docker.AddContainer(dockertest.Container{ID: cid, Name: "server-" + alloc, Labels: l, Networks: map[string]string{nid: eid}})
		e.createEndpoint(t, nid, eid)
		e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
	}
	for _, ep := range e.agent.Endpoints() {
		ids = append(ids, ep.Status.Identity.ID)
	}
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Errorf("identities of two allocations of one task group: got %v, want one", ids)
	}
}

// TestImageLabelsAreNotIdentity: an image with LABEL name=app2 does not give its containers app2's
// identity, at Join and in the label sync; a value the user sets over the image's counts.
func TestImageLabelsAreNotIdentity(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid := hexID("net")
	e.docker.AddImage("sha256:"+hexID("img"), map[string]string{"name": "app2", "maintainer": "x"})
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"image labels only", nil, withK8s("docker", labels.Unlabelled)},
		{"the user's value over the image's", map[string]string{"name": "app1"}, withK8s("docker", "container:name=app1")},
	} {
		eid, cid := hexID("ep"+tt.name), hexID("c"+tt.name)
		e.docker.AddContainer(dockertest.Container{ID: cid, Name: "c" + cid[:8], Image: "sha256:" + hexID("img"),
			Labels: tt.labels, Networks: map[string]string{nid: eid}})
		e.createEndpoint(t, nid, eid)
		e.mustCall(t, "NetworkDriver.Join", joinRequest(nid, eid))
		if got := e.userLabels(eid); !slices.Equal(got, tt.want) {
			t.Errorf("%s: identity labels at Join: got %v, want %v", tt.name, got, tt.want)
		}
		e.docker.StartContainer(cid)
	}
	if err := e.sync.Resync(context.Background()); err != nil {
		t.Fatalf("Resync: %v", err)
	}
	if p := e.agent.RequestsTo(agenttest.RoutePatchLabels); len(p) != 0 {
		t.Errorf("the label sync put image labels back: %s", p[0].Body)
	}
}
