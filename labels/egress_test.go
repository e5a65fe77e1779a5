package labels

import (
	"slices"
	"strings"
	"testing"
)

// TestEgressStamp: a container's own allow-list label is stamped into its identity by a hash of the
// list (never the label itself, never the image's), so that containers with different lists or none
// never share an identity; no container label may pose as the stamp.
func TestEgressStamp(t *testing.T) {
	p := DefaultPolicy()
	id := func(in, image map[string]string) []string {
		out, dropped := p.Identity(in, image, "c1")
		for _, d := range dropped {
			if d.Key == EgressKey && d.Reason != EgressLabel {
				t.Errorf("%s dropped as %q, want %q", EgressKey, d.Reason, EgressLabel)
			}
		}
		if !slices.IsSorted(out) {
			t.Errorf("identity not sorted: %v", out)
		}
		return out
	}
	stamp := func(ls []string) string {
		for _, l := range ls {
			if v, ok := strings.CutPrefix(l, Source+":"+EgressStampKey+"="); ok {
				return v
			}
			if strings.Contains(l, EgressKey) {
				t.Errorf("identity carries the label itself: %s", l)
			}
		}
		return ""
	}
	a := stamp(id(map[string]string{"name": "x", EgressKey: "a.org"}, nil))
	b := stamp(id(map[string]string{"name": "x", EgressKey: "b.org"}, nil))
	if a == "" || b == "" || a == b || len(a) != 16 {
		t.Errorf("stamps of two lists: %q, %q", a, b)
	}
	if s := stamp(id(map[string]string{"name": "x"}, nil)); s != "" {
		t.Errorf("a container without the label is stamped %q", s)
	}
	img := map[string]string{EgressKey: "a.org"}
	if s := stamp(id(map[string]string{"name": "x", EgressKey: "a.org"}, img)); s != "" {
		t.Errorf("the image's label stamped %q", s)
	}
	if _, ok, fromImage := p.Egress(map[string]string{EgressKey: "a.org"}, img); ok || !fromImage {
		t.Errorf("Egress of the image's label: ok %v fromImage %v", ok, fromImage)
	}
	if s := stamp(id(map[string]string{"name": "x", EgressKey: "b.org"}, img)); s != b {
		t.Errorf("a container's own value over the image's: stamp %q, want %q", s, b)
	}
	out, dropped := p.Convert(map[string]string{EgressStampKey: a}, nil)
	if len(dropped) != 1 || !strings.Contains(string(dropped[0].Reason), "reserved") || out[0] != Unlabelled {
		t.Errorf("a container label posing as the stamp: kept %v, dropped %v", out, dropped)
	}
}
