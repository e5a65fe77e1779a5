package labels

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestConvertLabels(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		name    string
		policy  Policy
		in      map[string]string
		want    []string
		dropped map[string]string // key -> substring of the reason
	}{
		{name: "nil", in: nil},
		{name: "plain", in: map[string]string{"app": "web", "tier": "front"},
			want: []string{"container:app=web", "container:tier=front"}},
		{name: "empty value", in: map[string]string{"canary": ""}, want: []string{"container:canary="}},
		{name: "prefixed key", in: map[string]string{"example.com/team": "net"}, want: []string{"container:example.com/team=net"}},
		{name: "reserved colon keys", in: map[string]string{
			"reserved:host": "", "reserved:world": "x", "reserved.x": "y", "k8s:app": "x", "any:app": "x", "container:app": "x",
		}, dropped: map[string]string{
			"reserved:host": "reserved key prefix reserved", "reserved:world": "reserved key prefix reserved",
			"reserved.x": "reserved key prefix reserved", "k8s:app": "not a valid label name",
			"any:app": "not a valid label name", "container:app": "not a valid label name",
		}},
		{name: "kubernetes and cilium keys", in: map[string]string{
			"io.kubernetes.pod.namespace": "kube-system", "IO.KUBERNETES.POD.NAMESPACE": "kube-system",
			"io.cilium.k8s.policy.cluster": "default", "io.cilium.k8s.namespace.labels": "x",
			"k8s.app": "x", "k8s-app": "x", "kubernetes.io/name": "x", "app.kubernetes.io/name": "x",
			"cilium.io/x": "y", "pod-template-hash": "1", "controller-revision-hash": "2", "annotation.x": "y",
		}, dropped: map[string]string{
			"io.kubernetes.pod.namespace": "io.kubernetes", "IO.KUBERNETES.POD.NAMESPACE": "io.kubernetes",
			"io.cilium.k8s.policy.cluster": "io.cilium", "io.cilium.k8s.namespace.labels": "io.cilium",
			"k8s.app": "k8s.", "k8s-app": "k8s-", "kubernetes.io/name": "kubernetes.io",
			"app.kubernetes.io/name": "reserved Kubernetes key", "cilium.io/x": "cilium.io",
			"pod-template-hash": "pod-template-", "controller-revision-hash": "controller-", "annotation.x": "annotation.",
		}},
		{name: "invalid syntax", in: map[string]string{
			"$app": "x", "-app": "x", "app-": "x", "a b": "x", "": "x", "Bad.Prefix/x": "y",
			"desc": "hello world", "quote": `"x"`, "dash": "-x", "nl": "a\nb",
		}, dropped: map[string]string{
			"$app": "not a valid label name", "-app": "not a valid label name", "app-": "not a valid label name",
			"a b": "not a valid label name", "": "not a valid label name", "Bad.Prefix/x": "not a DNS subdomain",
			"desc": "not a valid label value", "quote": "not a valid label value", "dash": "not a valid label value",
			"nl": "not a valid label value",
		}},
		{name: "length limits", in: map[string]string{
			long: long, long + "b": "x", "v": long + "b", "example.com/" + long: "ok",
		}, want: []string{"container:" + long + "=" + long, "container:example.com/" + long + "=ok"},
			dropped: map[string]string{long + "b": "at most 63", "v": "at most 63"}},
		{name: "compose and image labels", policy: DefaultPolicy(), in: map[string]string{
			"com.docker.compose.project": "shop", "com.docker.compose.service": "web",
			"com.docker.compose.container-number": "1", "com.docker.compose.config-hash": "0a1b",
			"com.docker.compose.oneoff": "False", "com.docker.compose.version": "2.20.2",
			"org.opencontainers.image.title": "nginx", "org.opencontainers.image.version": "1.25",
			"org.label-schema.name": "x", "maintainer": "someone", "maintainers": "kept",
		}, want: []string{
			"container:com.docker.compose.project=shop", "container:com.docker.compose.service=web",
			"container:maintainers=kept",
		}, dropped: map[string]string{
			"com.docker.compose.container-number": "excluded", "com.docker.compose.config-hash": "excluded",
			"com.docker.compose.oneoff": "excluded", "com.docker.compose.version": "excluded",
			"org.opencontainers.image.title": "excluded", "org.opencontainers.image.version": "excluded",
			"org.label-schema.name": "excluded", "maintainer": "excluded",
		}},
		{name: "include overrides exclude", policy: Policy{Exclude: []string{"team*", "env"}, Include: []string{"team.name", "env"}},
			in:      map[string]string{"team.name": "net", "team.id": "7", "env": "prod", "teams": "x"},
			want:    []string{"container:env=prod", "container:team.name=net"},
			dropped: map[string]string{"team.id": "excluded", "teams": "excluded"}},
		{name: "include does not admit reserved keys", policy: Policy{Include: []string{"io.kubernetes.pod.namespace"}},
			in:      map[string]string{"io.kubernetes.pod.namespace": "kube-system"},
			dropped: map[string]string{"io.kubernetes.pod.namespace": "reserved key prefix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped := tt.policy.Convert(tt.in, nil)
			want, kept := tt.want, len(got)
			if len(want) == 0 { // a container left without labels still gets an identity of its own
				want, kept = []string{Unlabelled}, 0
			}
			if !slices.Equal(got, want) {
				t.Errorf("labels:\ngot  %q\nwant %q", got, want)
			}
			gotDropped := map[string]string{}
			for _, d := range dropped {
				gotDropped[d.Key] = string(d.Reason)
			}
			for k, reason := range tt.dropped {
				if got, ok := gotDropped[k]; !ok || !strings.Contains(got, reason) {
					t.Errorf("dropped %q: got reason %q (dropped: %v), want one containing %q", k, got, ok, reason)
				}
			}
			if len(gotDropped) != len(tt.dropped) {
				t.Errorf("dropped: got %v, want exactly the keys of %v", gotDropped, tt.dropped)
			}
			if kept+len(dropped) != len(tt.in) {
				t.Errorf("kept %d + dropped %d labels of %d", kept, len(dropped), len(tt.in))
			}
		})
	}
}

func TestConvertLabelsCap(t *testing.T) {
	in := map[string]string{}
	for i := range Max + 6 {
		in[fmt.Sprintf("l%03d", i)] = "v"
	}
	// Excluded labels do not count against the cap.
	for i := range 10 {
		in[fmt.Sprintf("org.opencontainers.image.x%d", i)] = "v"
	}
	got, dropped := DefaultPolicy().Convert(in, nil)
	if len(got) != Max {
		t.Fatalf("kept %d labels, want %d", len(got), Max)
	}
	if got[0] != "container:l000=v" || got[Max-1] != fmt.Sprintf("container:l%03d=v", Max-1) {
		t.Errorf("kept %q ... %q, want the first %d keys in order", got[0], got[Max-1], Max)
	}
	var capped []string
	for _, d := range dropped {
		if d.Reason == Reason(fmt.Sprintf("more than %d labels", Max)) {
			capped = append(capped, d.Key)
		}
	}
	want := []string{"l064", "l065", "l066", "l067", "l068", "l069"}
	if !slices.Equal(capped, want) {
		t.Errorf("dropped over the cap: got %q, want %q", capped, want)
	}
}

func TestConvertLabelsStable(t *testing.T) {
	in := map[string]string{}
	for _, k := range []string{"zeta", "alpha", "app", "app.tier", "app-x", "app_y", "b", "com.docker.compose.service", "Mixed", "9lives"} {
		in[k] = "v"
	}
	in["reserved:host"] = ""
	in["bad key"] = "v"
	first, firstDropped := DefaultPolicy().Convert(in, nil)
	key := func(l string) string { return strings.SplitN(strings.TrimPrefix(l, Source+":"), "=", 2)[0] }
	if !slices.IsSortedFunc(first, func(a, b string) int { return strings.Compare(key(a), key(b)) }) {
		t.Errorf("labels not in key order: %q", first)
	}
	if !slices.IsSortedFunc(firstDropped, func(a, b Dropped) int { return strings.Compare(a.Key, b.Key) }) {
		t.Errorf("dropped labels not in key order: %v", firstDropped)
	}
	for range 20 { // map iteration order differs between runs
		got, dropped := DefaultPolicy().Convert(in, nil)
		if !slices.Equal(got, first) || !slices.Equal(dropped, firstDropped) {
			t.Fatalf("Convert is not stable:\ngot  %q %v\nwant %q %v", got, dropped, first, firstDropped)
		}
	}
	for _, l := range first {
		if !strings.HasPrefix(l, "container:") {
			t.Errorf("label %q lacks the container source", l)
		}
	}
}

func TestUnlabelledLabel(t *testing.T) {
	k, v, ok := strings.Cut(strings.TrimPrefix(Unlabelled, Source+":"), "=")
	if !strings.HasPrefix(Unlabelled, Source+":") || !ok {
		t.Fatalf("Unlabelled %q is not %s:key=value", Unlabelled, Source)
	}
	if reason := checkLabel(k, v); reason != "" {
		t.Errorf("Unlabelled %q fails the plugin's own label rules: %s", Unlabelled, reason)
	}
	got, _ := DefaultPolicy().Convert(map[string]string{"app": "web"}, nil)
	if slices.Contains(got, Unlabelled) {
		t.Errorf("a labelled container got %q: %q", Unlabelled, got)
	}
}

func TestDefaultLabelPolicy(t *testing.T) {
	p := DefaultPolicy()
	if !slices.Equal(p.Exclude, DefaultExclude) || !slices.Equal(p.Include, DefaultInclude) {
		t.Errorf("DefaultPolicy() = %+v, want the default exclude and include lists", p)
	}
	if _, dropped := (Policy{}).Convert(map[string]string{"com.docker.compose.container-number": "1"}, nil); len(dropped) != 0 {
		t.Errorf("an empty policy dropped %v, want nothing excluded", dropped)
	}
}

// TestImageLabels: dockerd copies an image's labels into its containers', so a label with the
// image's value is the image's and stays out of the identity unless ImageLabels admits it; a value
// the user set over the image's is the user's.
func TestImageLabels(t *testing.T) {
	image := map[string]string{"name": "app2", "org.example.team": "payments", "tier": "db"}
	in := map[string]string{"name": "app2", "org.example.team": "payments", "tier": "web", "run": "1"}
	tests := []struct {
		name   string
		images []string
		want   []string
	}{
		{"default: only the user's labels", nil, []string{"container:run=1", "container:tier=web"}},
		{"all image labels", []string{"*"}, []string{"container:name=app2", "container:org.example.team=payments", "container:run=1", "container:tier=web"}},
		{"by prefix", []string{"org.example.*"}, []string{"container:org.example.team=payments", "container:run=1", "container:tier=web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.ImageLabels = tt.images
			got, dropped := p.Convert(in, image)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for _, d := range dropped {
				if d.Reason != FromImage {
					t.Errorf("dropped %s: %s, want %s", d.Key, d.Reason, FromImage)
				}
			}
		})
	}
	if got, _ := DefaultPolicy().Convert(map[string]string{"name": "app2"}, map[string]string{"name": "app2"}); !slices.Equal(got, []string{Unlabelled}) {
		t.Errorf("a container with only its image's labels: got %v, want [%s]", got, Unlabelled)
	}
}

// nomadLabels are the labels Nomad's docker driver stamps on a task's container (drivers/docker:
// com.hashicorp.nomad.alloc_id always; job_name, job_id, task_group_name, task_name, namespace,
// node_name and node_id with the plugin's extra_labels), for one allocation of group "api" on node.
func nomadLabels(alloc, node string) map[string]string {
	return map[string]string{
		"com.hashicorp.nomad.alloc_id":        alloc,
		"com.hashicorp.nomad.job_name":        "shop",
		"com.hashicorp.nomad.job_id":          "shop",
		"com.hashicorp.nomad.task_group_name": "api",
		"com.hashicorp.nomad.task_name":       "server",
		"com.hashicorp.nomad.namespace":       "prod",
		"com.hashicorp.nomad.node_name":       "client-" + node,
		"com.hashicorp.nomad.node_id":         node + "0c6e2e-5f0a-4b8e-9d43-6d1f3c2a7b10",
	}
}

// TestNomadOneIdentityPerTaskGroup: allocations of one task group, on any node, get one identity;
// it keeps job, task group, task and namespace.
func TestNomadOneIdentityPerTaskGroup(t *testing.T) {
	a, _ := DefaultPolicy().Convert(nomadLabels("5d8c9a1e-7b3f-4c2a-9e6d-1f0b2a3c4d5e", "a1"), nil)
	b, _ := DefaultPolicy().Convert(nomadLabels("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "b2"), nil)
	want := []string{
		"container:com.hashicorp.nomad.job_id=shop", "container:com.hashicorp.nomad.job_name=shop",
		"container:com.hashicorp.nomad.namespace=prod", "container:com.hashicorp.nomad.task_group_name=api",
		"container:com.hashicorp.nomad.task_name=server",
	}
	if !slices.Equal(a, want) || !slices.Equal(b, want) {
		t.Errorf("two allocations of one group:\n got %v\n and %v\nwant %v", a, b, want)
	}
}

// TestAgentFilter: a label the agent's filter leaves out of identities is dropped here too.
func TestAgentFilter(t *testing.T) {
	p := DefaultPolicy()
	p.Agent = func(k, _ string) bool { return !strings.HasPrefix(k, "annotation") }
	got, dropped := p.Convert(map[string]string{"annotations.io/x": "1", "app": "web"}, nil)
	if !slices.Equal(got, []string{"container:app=web"}) || len(dropped) != 1 || dropped[0].Reason != AgentFiltered {
		t.Errorf("got %v dropped %v, want [container:app=web] and annotations.io/x dropped by the agent's filter", got, dropped)
	}
}
