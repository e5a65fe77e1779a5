package labels

import (
	"slices"
	"strings"
	"testing"
)

// FuzzConvert feeds container labels of any shape (keys and values as Docker accepts them: any
// string) through the default policy. The conversion never panics; every label ends up in the output
// or in the dropped list, exactly once; every output label is container:key=value of an input label
// that passes the label checks; the output is sorted and never empty; and converting a container that
// carries exactly the kept labels gives the same identity again (identities stay stable).
func FuzzConvert(f *testing.F) {
	f.Add("name", "app1", "com.docker.compose.service", "web")
	f.Add("io.kubernetes.pod.namespace", "x", "reserved:host", "")
	f.Add("annotation.x", "1", "k8s:app", "a=b")
	f.Add("a b", "c\nd", "é", strings.Repeat("v", 300))
	f.Add("com.hashicorp.nomad.alloc_id", "0b3c", "org.opencontainers.image.version", "1.2")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		in := map[string]string{k1: v1, k2: v2}
		p := DefaultPolicy()
		out, dropped := p.Convert(in, map[string]string{k2: v2})
		if len(out) == 0 || !slices.IsSorted(out) {
			t.Fatalf("Convert(%q) = %q: want a sorted, non-empty list", in, out)
		}
		seen := map[string]int{}
		for _, d := range dropped {
			seen[d.Key]++
		}
		kept := map[string]string{}
		for _, l := range out {
			if l == Unlabelled {
				continue
			}
			kv, ok := strings.CutPrefix(l, Source+":")
			k, v, found := strings.Cut(kv, "=")
			if !ok || !found {
				t.Fatalf("Convert(%q): label %q is not %s:key=value", in, l, Source)
			}
			if want, ok := in[k]; !ok || want != v {
				t.Fatalf("Convert(%q): label %q is not an input label", in, l)
			}
			if reason := checkLabel(k, v); reason != "" {
				t.Fatalf("Convert(%q): kept %q, which the checks refuse: %s", in, l, reason)
			}
			seen[k]++
			kept[k] = v
		}
		for k := range in {
			if seen[k] != 1 {
				t.Fatalf("Convert(%q): key %q is kept or dropped %d times, want once", in, k, seen[k])
			}
		}
		if again, _ := p.Convert(kept, nil); !slices.Equal(again, out) {
			t.Fatalf("Convert of the kept labels %q = %q, want the same identity %q", kept, again, out)
		}
	})
}
