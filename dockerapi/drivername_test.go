package dockerapi

import "testing"

func TestSameDriver(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"cilium", "cilium", true},
		{"cilium-docker", "cilium-docker:latest", true},
		{"cilium-docker:latest", "docker.io/library/cilium-docker", true},
		{"cilium/cilium-docker", "docker.io/cilium/cilium-docker:latest", true},
		{"cilium-docker:1.2.3", "cilium-docker:1.2.3", true},
		{"cilium-docker:1.2.3", "cilium-docker", false},
		{"cilium-docker:1.2.3", "cilium-docker:latest", false},
		{"localhost:5000/cilium-docker", "localhost:5000/cilium-docker:latest", true},
		{"localhost:5000/cilium-docker", "localhost:5001/cilium-docker", false},
		{"cilium", "bridge", false},
		{"cilium", "", false},
		{"", "", true}, // equal strings; no caller asks about an empty name
	} {
		if got := SameDriver(c.a, c.b); got != c.want {
			t.Errorf("SameDriver(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := SameDriver(c.b, c.a); got != c.want {
			t.Errorf("SameDriver(%q, %q) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}
