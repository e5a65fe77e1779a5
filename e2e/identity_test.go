package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
	"github.com/cilium-docker/cilium-docker/labels"
)

// TestImageLabelsAreNotIdentity (issue 9.2): an image carrying LABEL name=<app> does not give its
// containers the identity a policy grants that app. The image is made without a registry: the bed's
// busybox exported and imported again with the label.
func TestImageLabelsAreNotIdentity(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "img-net"
	nd.Network(t, net)
	nd.Exec(t, "sh", "-c", "c=$(docker create --pull never "+bed.Image+" true) && docker export \"$c\" | "+
		"docker import --change 'LABEL name=img-app2' --change 'CMD [\"/bin/sh\"]' - imposter:latest >/dev/null && docker rm \"$c\" >/dev/null")
	t.Cleanup(func() { nd.BestEffort(t, "rmi", "imposter:latest") })

	nd.Run(t, "img-srv", "-l", "name=img-srv", "--net", net, bed.Image, "sh", "-c", "while true; do echo pong | nc -l -p 8080; done")
	nd.Run(t, "img-app2", "-l", "name=img-app2", "--net", net, bed.Image, "sleep", "100000")
	nd.Run(t, "img-imposter", "--net", net, "imposter:latest", "sleep", "100000")
	if got := nd.Must(t, "inspect", "-f", "{{index .Config.Labels \"name\"}}", "img-imposter"); got != "img-app2" {
		t.Fatalf("dockerd did not copy the image label into the container: name=%q", got)
	}
	ep := nd.EndpointOf(t, "img-imposter", net)
	if l := bed.IdentityLabels(ep); bed.HasLabel(l, "container:name=img-app2") || !bed.HasLabel(l, labels.Unlabelled) {
		t.Fatalf("identity of the image's container: got %v, want %s and no container:name=img-app2", l, labels.Unlabelled)
	}
	srv := nd.ContainerIP(t, "img-srv", net).String()
	bed.Enforce(t, nd, nd.PolicyDir(), "img-srv.yaml", bed.PolicyOnlyFrom("img-srv", "img-app2"), "img-imposter", "img-app2", srv)
}

// TestLabelFilterAgreesWithTheAgent (issue 9.8): keys the agent's label filter leaves out of identities
// (annotation*) neither fail a start nor get patched again and again; containers labelled as Nomad's
// docker driver labels them share one identity per task group across allocations.
func TestLabelFilterAgreesWithTheAgent(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "lbl-net"
	nd.Network(t, net)
	logAt := nd.LogSize(t, bed.Plugin)

	nd.Run(t, "lbl-annot", "-l", "annotations.example.com/owner=ops", "-l", "annotation_x=1", "--net", net, bed.Image, "sleep", "100000")
	nd.Run(t, "lbl-mixed", "-l", "annotationfoo=1", "-l", "app=lbl-web", "--net", net, bed.Image, "sleep", "100000")
	for name, want := range map[string][]string{"lbl-annot": {labels.Unlabelled}, "lbl-mixed": {"container:app=lbl-web"}} {
		ep := nd.EndpointOf(t, name, net)
		if !bed.Built(ep) {
			t.Errorf("%s: endpoint %s right after docker run, want built", name, bed.State(ep))
		}
		var got []string
		for _, l := range bed.IdentityLabels(ep) {
			if strings.HasPrefix(l, "container:") {
				got = append(got, l)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: identity labels %v, want %v", name, bed.IdentityLabels(ep), want)
		}
	}

	// Nomad's docker driver: alloc_id always, the rest with extra_labels (drivers/docker).
	var ids []int64
	for i, alloc := range []string{"5d8c9a1e-7b3f-4c2a-9e6d-1f0b2a3c4d5e", "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"} {
		name := fmt.Sprintf("lbl-nomad%d", i)
		nd.Run(t, name, "--net", net,
			"-l", "com.hashicorp.nomad.alloc_id="+alloc, "-l", "com.hashicorp.nomad.job_name=shop", "-l", "com.hashicorp.nomad.job_id=shop",
			"-l", "com.hashicorp.nomad.task_group_name=api", "-l", "com.hashicorp.nomad.task_name=server",
			"-l", "com.hashicorp.nomad.namespace=prod", "-l", fmt.Sprintf("com.hashicorp.nomad.node_name=client-%d", i),
			"-l", fmt.Sprintf("com.hashicorp.nomad.node_id=%d2b6c0e1-1111-4b8e-9d43-6d1f3c2a7b10", i),
			bed.Image, "sleep", "100000")
		ep := nd.EndpointOf(t, name, net)
		if l := bed.IdentityLabels(ep); !bed.HasLabel(l, "container:com.hashicorp.nomad.task_group_name=api") ||
			bed.HasPrefix(l, "container:com.hashicorp.nomad.alloc_id") || bed.HasPrefix(l, "container:com.hashicorp.nomad.node_") {
			t.Errorf("%s: identity labels %v: want the task group's, no allocation or node label", name, l)
		}
		ids = append(ids, bed.IdentityID(ep))
	}
	if ids[0] != ids[1] || ids[0] == 0 {
		t.Errorf("identities of two allocations of one task group: %v, want one", ids)
	}
	// The label sync compares running containers with their endpoints at every resync (a plugin start,
	// an event-stream reconnect; start events only for containers whose Join lacked the labels): a
	// label the agent dropped would differ, and be patched again at each. Restart the plugin, wait until
	// its resync has seen each container, then check it found nothing to patch.
	nd.Restart(t, bed.Plugin)
	for _, name := range []string{"lbl-annot", "lbl-mixed", "lbl-nomad0", "lbl-nomad1"} {
		bed.Eventually(t, 20*time.Second, "the label sync to compare "+name, func() error {
			if !strings.Contains(nd.LogSince(t, bed.Plugin, logAt), "container labels up to date\" container="+name) {
				return fmt.Errorf("not yet")
			}
			return nil
		})
	}
	if log := nd.LogSince(t, bed.Plugin, logAt); strings.Contains(log, "applied container labels") || strings.Contains(log, "no valid labels") {
		t.Errorf("the plugin patched labels it had set at Join, or the agent refused them:\n%s", log)
	}
}
