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
			if got := tt.policy.Namespace(tt.labels); got != tt.want {
				t.Errorf("Namespace(%v) = %q, want %q", tt.labels, got, tt.want)
			}
		})
	}
}
