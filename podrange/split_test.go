package podrange

import (
	"math/big"
	"net/netip"
	"strings"
	"testing"
)

func TestNewSplit(t *testing.T) {
	for _, tc := range []struct {
		pool    string
		perNode int
		slots   string
		err     string
	}{
		{"10.64.0.0/10", 20, "1024", ""},
		{"10.0.0.0/20", 20, "1", ""}, // exactly one node
		{"10.0.0.0/20", 19, "", "smaller than one node's /19"},
		{"10.0.0.1/20", 24, "", "not a network address (want 10.0.0.0/20)"},
		{"10.0.0.0/24", 31, "", "too few addresses"},
		{"fd00::/64", 112, "281474976710656", ""},
		{"fd00::/8", 120, "5192296858534827628530496329220096", ""}, // 2^112: no overflow
		{"fd00::/112", 104, "", "smaller than one node's /104"},
		{"::ffff:10.0.0.0/104", 112, "", "IPv4-mapped"},
	} {
		s, err := NewSplit(netip.MustParsePrefix(tc.pool), tc.perNode)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("NewSplit(%s, /%d) = %v, want error %q", tc.pool, tc.perNode, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewSplit(%s, /%d): %v", tc.pool, tc.perNode, err)
			continue
		}
		if got := s.Slots().String(); got != tc.slots {
			t.Errorf("%s: %s slots, want %s", s, got, tc.slots)
		}
	}
}

func TestSlot(t *testing.T) {
	s, err := NewSplit(netip.MustParsePrefix("10.64.0.0/10"), 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		i    int64
		want string
	}{{0, "10.64.0.0/20"}, {1, "10.64.16.0/20"}, {16, "10.65.0.0/20"}, {1023, "10.127.240.0/20"}, {1024, ""}, {-1, ""}} {
		p, ok := s.Slot(big.NewInt(tc.i))
		if got := map[bool]string{true: p.String(), false: ""}[ok]; got != tc.want {
			t.Errorf("slot %d = %q, want %q", tc.i, got, tc.want)
		}
	}
	// The last slot of the whole address space: no overflow past 255.255.255.255 or ffff:…:ffff.
	top, _ := NewSplit(netip.MustParsePrefix("255.255.255.0/24"), 28)
	if p, ok := top.Slot(big.NewInt(15)); !ok || p.String() != "255.255.255.240/28" {
		t.Errorf("last slot of 255.255.255.0/24 = %s %v", p, ok)
	}
	top6, _ := NewSplit(netip.MustParsePrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:0/112"), 120)
	if p, ok := top6.Slot(big.NewInt(255)); !ok || p.String() != "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120" {
		t.Errorf("last IPv6 slot = %s %v", p, ok)
	}
	if _, ok := top6.Slot(big.NewInt(256)); ok {
		t.Error("slot 256 of a /112 split into /120: want none")
	}
}

func TestFirst(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	s, _ := NewSplit(netip.MustParsePrefix("10.0.0.0/22"), 24) // four slots
	for _, tc := range []struct {
		taken []netip.Prefix
		want  string
	}{
		{nil, "10.0.0.0/24"},
		{pfx("10.0.0.0/24"), "10.0.1.0/24"},
		{pfx("10.0.0.0/24", "10.0.2.0/24"), "10.0.1.0/24"},                // a freed slot is reused
		{pfx("10.0.0.128/25"), "10.0.1.0/24"},                             // a smaller hand-set range blocks its slot
		{pfx("10.0.0.0/23"), "10.0.2.0/24"},                               // a larger one blocks every slot it covers
		{pfx("10.0.0.0/8"), ""},                                           // one covering the pool
		{pfx("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"), "10.0.3.0/24"}, // the last slot
		{pfx("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"), ""},
		{pfx("fd00::/8", "10.1.0.0/16"), "10.0.0.0/24"}, // other family, outside the pool
	} {
		p, ok := s.First(tc.taken)
		if got := map[bool]string{true: p.String(), false: ""}[ok]; got != tc.want {
			t.Errorf("First(%v) = %q, want %q", tc.taken, got, tc.want)
		}
	}
	// IPv6: a huge pool, the first free slot found without walking it.
	s6, _ := NewSplit(netip.MustParsePrefix("fd00::/8"), 112)
	if p, ok := s6.First(pfx("fd00::/9")); !ok || p.String() != "fd80::/112" {
		t.Errorf("IPv6 First = %s %v, want fd80::/112", p, ok)
	}
}
