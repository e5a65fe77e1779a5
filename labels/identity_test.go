package labels

import (
	"slices"
	"testing"
)

func TestIdentity(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		in      map[string]string
		cluster string
		want    []string
	}{
		{name: "plain docker run", policy: DefaultPolicy(), in: map[string]string{"name": "app1"}, cluster: "local",
			want: []string{"container:name=app1", "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=docker"}},
		{name: "compose project", policy: DefaultPolicy(), cluster: "c1",
			in: map[string]string{"com.docker.compose.project": "shop", "com.docker.compose.service": "web", "com.docker.compose.container-number": "2"},
			want: []string{"container:com.docker.compose.project=shop", "container:com.docker.compose.service=web",
				"k8s:io.cilium.k8s.policy.cluster=c1", "k8s:io.kubernetes.pod.namespace=shop"}},
		{name: "nomad namespace, default namespace set", policy: Policy{K8sIdentity: true, DefaultNamespace: "apps"},
			in: map[string]string{"com.hashicorp.nomad.namespace": "prod"}, cluster: "local",
			want: []string{"container:com.hashicorp.nomad.namespace=prod", "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=prod"}},
		{name: "user labels with the stamped keys stay refused", policy: DefaultPolicy(), cluster: "local",
			in:   map[string]string{"io.kubernetes.pod.namespace": "kube-system", "io.cilium.k8s.policy.cluster": "other", "app": "x"},
			want: []string{"container:app=x", "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=docker"}},
		{name: "no cluster name from the agent", policy: DefaultPolicy(), in: map[string]string{"app": "x"},
			want: []string{"container:app=x", "k8s:io.kubernetes.pod.namespace=docker"}},
		{name: "invalid cluster name", policy: DefaultPolicy(), in: map[string]string{"app": "x"}, cluster: "bad name",
			want: []string{"container:app=x", "k8s:io.kubernetes.pod.namespace=docker"}},
		{name: "off: today's labels", policy: Policy{}, in: map[string]string{"app": "x"}, cluster: "local",
			want: []string{"container:app=x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := tt.policy.Identity(tt.in, nil, tt.cluster)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Identity:\ngot  %q\nwant %q", got, tt.want)
			}
			for _, l := range got {
				if IsStamped(l) != (l[:4] == "k8s:") {
					t.Errorf("IsStamped(%q) = %v", l, IsStamped(l))
				}
			}
		})
	}
}

// TestIdentityImageNamespace (issue 19.3): an image cannot pick its namespace. dockerd copies the
// image's labels into the container's, so a compose-project or Nomad-namespace value equal to the
// image's is the image's, and the container stays in the default namespace, as Convert leaves the
// label itself out; a value the container's own labels set over the image's counts.
func TestIdentityImageNamespace(t *testing.T) {
	const compose, nomad = "com.docker.compose.project", "com.hashicorp.nomad.namespace"
	tests := []struct {
		name      string
		policy    Policy
		in, image map[string]string
		want      []string
	}{
		{name: "compose project from the image only", policy: DefaultPolicy(),
			in: map[string]string{compose: "shop"}, image: map[string]string{compose: "shop"},
			want: []string{Unlabelled, "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=docker"}},
		{name: "compose project set on the container over the image's", policy: DefaultPolicy(),
			in: map[string]string{compose: "shop2"}, image: map[string]string{compose: "shop"},
			want: []string{"container:com.docker.compose.project=shop2", "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=shop2"}},
		{name: "nomad namespace from the image only", policy: DefaultPolicy(),
			in: map[string]string{nomad: "prod", "app": "x"}, image: map[string]string{nomad: "prod"},
			want: []string{"container:app=x", "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=docker"}},
		{name: "nomad namespace set on the container over the image's", policy: DefaultPolicy(),
			in: map[string]string{nomad: "prod"}, image: map[string]string{nomad: "dev"},
			want: []string{"container:com.hashicorp.nomad.namespace=prod", "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=prod"}},
		{name: "the image's compose project passed over for the container's nomad namespace", policy: DefaultPolicy(),
			in: map[string]string{compose: "shop", nomad: "prod"}, image: map[string]string{compose: "shop"},
			want: []string{"container:com.hashicorp.nomad.namespace=prod", "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=prod"}},
		{name: "the image's project under a configured default", policy: Policy{K8sIdentity: true, DefaultNamespace: "apps"},
			in: map[string]string{compose: "shop"}, image: map[string]string{compose: "shop"},
			want: []string{Unlabelled, "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=apps"}},
		{name: "admitted by ImageLabels: the label and the namespace both", policy: Policy{K8sIdentity: true, ImageLabels: []string{compose}},
			in: map[string]string{compose: "shop"}, image: map[string]string{compose: "shop"},
			want: []string{"container:com.docker.compose.project=shop", "k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=shop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := tt.policy.Identity(tt.in, tt.image, "local"); !slices.Equal(got, tt.want) {
				t.Errorf("Identity(%v, image %v):\ngot  %q\nwant %q", tt.in, tt.image, got, tt.want)
			}
		})
	}
}
