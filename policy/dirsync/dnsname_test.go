package dirsync

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestDNS1123SubdomainAsApimachinery(t *testing.T) {
	cases := []string{"", "a", "-", ".", "a.", ".a", "a..b", "a-b", "-a", "a-", "a.-b", "a-.b", "A", "a_b", "a b",
		"cilium-docker.ccnp.app2-from-app1.yaml", "cilium-docker.cnp-shop.web.yaml", "cilium-docker.ccnp.App.yaml",
		"0", "0.0", "é", "a\x00", strings.Repeat("a", 63) + "." + strings.Repeat("b", 189), strings.Repeat("a", 254),
		strings.Repeat("a.", 127), strings.Repeat("A", 254)}
	for _, s := range cases {
		if got, want := dns1123Subdomain(s), validation.IsDNS1123Subdomain(s); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want (apimachinery) %q", s, got, want)
		}
	}
}

func FuzzDNS1123SubdomainAsApimachinery(f *testing.F) {
	for _, s := range []string{"a.b", "a-b.c", "-a", "a..b", "cilium-docker.ccnp.x.yaml"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := dns1123Subdomain(s), validation.IsDNS1123Subdomain(s); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want (apimachinery) %q", s, got, want)
		}
	})
}

func TestDNS1123LabelAsApimachinery(t *testing.T) {
	cases := []string{"", "a", "-", ".", "a.b", "x.y", "a-b", "-a", "a-", "A", "a_b", "a b", "shop", "0", "é", "a\x00",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a.", 40), strings.Repeat("A", 64)}
	for _, s := range cases {
		if got, want := dns1123Label(s), validation.IsDNS1123Label(s); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want (apimachinery) %q", s, got, want)
		}
	}
}

func FuzzDNS1123LabelAsApimachinery(f *testing.F) {
	for _, s := range []string{"a", "a.b", "a-b", "-a", strings.Repeat("a", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := dns1123Label(s), validation.IsDNS1123Label(s); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want (apimachinery) %q", s, got, want)
		}
	})
}
