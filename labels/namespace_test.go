package labels

import (
	"strings"
	"testing"
)

func TestNamespace(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		labels map[string]string
		want   string
	}{
		{"plain docker run", Policy{}, map[string]string{"name": "app1"}, "docker"},
		{"configured default", Policy{DefaultNamespace: "edge"}, nil, "edge"},
		{"compose project", Policy{DefaultNamespace: "edge"},
			map[string]string{"com.docker.compose.project": "shop", "com.docker.compose.service": "web"}, "shop"},
		{"nomad namespace", Policy{}, map[string]string{"com.hashicorp.nomad.namespace": "prod"}, "prod"},
		{"compose wins over nomad", Policy{},
			map[string]string{"com.docker.compose.project": "shop", "com.hashicorp.nomad.namespace": "prod"}, "shop"},
		{"underscore project", Policy{}, map[string]string{"com.docker.compose.project": "my_app"}, "my_app"},
		{"uppercase passed over", Policy{}, map[string]string{"com.docker.compose.project": "Shop"}, "docker"},
		{"slash passed over", Policy{}, map[string]string{"com.hashicorp.nomad.namespace": "a/b"}, "docker"},
		{"leading dash passed over", Policy{}, map[string]string{"com.docker.compose.project": "-x"}, "docker"},
		{"too long passed over", Policy{}, map[string]string{"com.docker.compose.project": strings.Repeat("a", 64)}, "docker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Namespace(tt.labels, nil); got != tt.want {
				t.Errorf("Namespace(%v) = %q, want %q", tt.labels, got, tt.want)
			}
		})
	}
}

// TestNamespaceImage (issue 19.3): a namespace key counts only when the container's own labels carry
// it with a value other than its image's (dockerd merges the image's labels into the container's).
func TestNamespaceImage(t *testing.T) {
	const compose, nomad = "com.docker.compose.project", "com.hashicorp.nomad.namespace"
	tests := []struct {
		name      string
		policy    Policy
		in, image map[string]string
		want      string
	}{
		{"compose project from the image only", Policy{}, map[string]string{compose: "shop"}, map[string]string{compose: "shop"}, DefaultNamespace},
		{"compose project on the container, over the image's", Policy{}, map[string]string{compose: "shop2"}, map[string]string{compose: "shop"}, "shop2"},
		{"compose project on the container, image without it", Policy{}, map[string]string{compose: "shop"}, map[string]string{"name": "x"}, "shop"},
		{"compose project equal to the image's counts as the image's", Policy{DefaultNamespace: "edge"},
			map[string]string{compose: "shop", "com.docker.compose.service": "web"}, map[string]string{compose: "shop"}, "edge"},
		{"nomad namespace from the image only", Policy{}, map[string]string{nomad: "prod"}, map[string]string{nomad: "prod"}, DefaultNamespace},
		{"nomad namespace on the container, over the image's", Policy{}, map[string]string{nomad: "prod"}, map[string]string{nomad: "dev"}, "prod"},
		{"the image's project passed over for the container's nomad namespace", Policy{},
			map[string]string{compose: "shop", nomad: "prod"}, map[string]string{compose: "shop"}, "prod"},
		{"the image's nomad namespace does not fill in", Policy{},
			map[string]string{compose: "Bad", nomad: "prod"}, map[string]string{nomad: "prod"}, DefaultNamespace},
		{"admitted by ImageLabels", Policy{ImageLabels: []string{"com.docker.compose.*"}},
			map[string]string{compose: "shop"}, map[string]string{compose: "shop"}, "shop"},
		{"ImageLabels admitting another key", Policy{ImageLabels: []string{"org.example.*"}},
			map[string]string{compose: "shop"}, map[string]string{compose: "shop"}, DefaultNamespace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Namespace(tt.in, tt.image); got != tt.want {
				t.Errorf("Namespace(%v, image %v) = %q, want %q", tt.in, tt.image, got, tt.want)
			}
		})
	}
}
