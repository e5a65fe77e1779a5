package endpoint

import (
	"strings"
	"testing"
)

func TestNamespace(t *testing.T) {
	tests := []struct {
		name   string
		policy LabelPolicy
		labels map[string]string
		want   string
	}{
		{"plain docker run", LabelPolicy{}, map[string]string{"name": "app1"}, "docker"},
		{"configured default", LabelPolicy{DefaultNamespace: "edge"}, nil, "edge"},
		{"compose project", LabelPolicy{DefaultNamespace: "edge"},
			map[string]string{"com.docker.compose.project": "shop", "com.docker.compose.service": "web"}, "shop"},
		{"nomad namespace", LabelPolicy{}, map[string]string{"com.hashicorp.nomad.namespace": "prod"}, "prod"},
		{"compose wins over nomad", LabelPolicy{},
			map[string]string{"com.docker.compose.project": "shop", "com.hashicorp.nomad.namespace": "prod"}, "shop"},
		{"underscore project", LabelPolicy{}, map[string]string{"com.docker.compose.project": "my_app"}, "my_app"},
		{"uppercase passed over", LabelPolicy{}, map[string]string{"com.docker.compose.project": "Shop"}, "docker"},
		{"slash passed over", LabelPolicy{}, map[string]string{"com.hashicorp.nomad.namespace": "a/b"}, "docker"},
		{"leading dash passed over", LabelPolicy{}, map[string]string{"com.docker.compose.project": "-x"}, "docker"},
		{"too long passed over", LabelPolicy{}, map[string]string{"com.docker.compose.project": strings.Repeat("a", 64)}, "docker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Namespace(tt.labels); got != tt.want {
				t.Errorf("Namespace(%v) = %q, want %q", tt.labels, got, tt.want)
			}
		})
	}
}
