package endpoint

import (
	"errors"
	"strings"
	"testing"
)

const (
	hexA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	hexB = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

var (
	idA  = MustParseID(hexA)
	idB  = MustParseID(hexB)
	netB = MustParseNetworkID(hexB)
)

func TestParseID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		ok   bool
	}{
		{"valid", hexA, true},
		{"all zero", strings.Repeat("0", 64), true},
		{"empty", "", false},
		{"63 chars", hexA[:63], false},
		{"65 chars", hexA + "0", false},
		{"uppercase", strings.ToUpper(hexA), false},
		{"path traversal", "../" + hexA[3:], false},
		{"spaces", " " + hexA[1:], false},
		{"inner space", hexA[:32] + " " + hexA[33:], false},
		{"non hex letter", "g" + hexA[1:], false},
		{"multibyte", "é" + hexA[2:], false},
		{"very long", strings.Repeat("a", 1000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseID(tt.id)
			nid, nerr := ParseNetworkID(tt.id)
			if tt.ok {
				if err != nil || nerr != nil {
					t.Fatalf("ParseID(%q), ParseNetworkID = %v, %v, want nil", tt.id, err, nerr)
				}
				if id.String() != tt.id || nid.String() != tt.id || id.IsZero() || nid.IsZero() {
					t.Fatalf("ParseID(%q), ParseNetworkID = %q, %q, want the ID itself", tt.id, id, nid)
				}
				return
			}
			if err == nil || nerr == nil {
				t.Fatalf("ParseID(%q), ParseNetworkID = %v, %v, want errors", tt.id, err, nerr)
			}
			if !id.IsZero() || !nid.IsZero() || err.Error() != nerr.Error() {
				t.Errorf("ParseID(%q), ParseNetworkID = %q, %v and %q, %v: want zero IDs and the same error", tt.id, id, err, nid, nerr)
			}
			if !errors.Is(err, ErrInvalidID) {
				t.Errorf("error %q does not wrap ErrInvalidID", err)
			}
			shown := tt.id
			if len(shown) > maxShownID {
				shown = shown[:maxShownID]
				if strings.Contains(err.Error(), tt.id[:maxShownID+1]) {
					t.Errorf("error %q repeats more than %d bytes of the id", err, maxShownID)
				}
			}
			if !strings.Contains(err.Error(), shown) && !strings.Contains(err.Error(), "é") {
				t.Errorf("error %q does not name the id %q", err, shown)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error is %d bytes long, want a short message", len(err.Error()))
			}
		})
	}
}

func TestNamesFor(t *testing.T) {
	a, b := NamesFor(idA), NamesFor(idB)
	for _, n := range []Names{a, b} {
		for _, name := range []string{n.Host, n.Container} {
			if len(name) > 15 {
				t.Errorf("name %q is %d bytes, want ≤ 15 (IFNAMSIZ-1)", name, len(name))
			}
			if len(name) != 14 {
				t.Errorf("name %q is %d bytes, want 14", name, len(name))
			}
		}
		if !strings.HasPrefix(n.Host, "lxc") || !strings.HasPrefix(n.Container, "tmp") {
			t.Errorf("names %+v: want prefixes lxc and tmp", n)
		}
		if n.Host[3:] != n.Container[3:] {
			t.Errorf("names %+v: want the same hash on both sides", n)
		}
		if got := namesFromHost(n.Host); got != n {
			t.Errorf("namesFromHost(%q) = %+v, want %+v", n.Host, got, n)
		}
	}
	if NamesFor(idA) != a {
		t.Errorf("NamesFor is not deterministic")
	}
	if a.Host == b.Host || a.Container == b.Container {
		t.Errorf("NamesFor(%q) and NamesFor(%q) collide: %+v", idA, idB, a)
	}
	// Pin the formula so it cannot drift silently: the names are a contract with DESIGN.md.
	h := sha256Hex(hexA)[:11]
	if a.Host != "lxc"+h || a.Container != "tmp"+h {
		t.Errorf("NamesFor(%q) = %+v, want lxc%s/tmp%s", idA, a, h, h)
	}
}

func TestMACFor(t *testing.T) {
	seen := map[string]string{}
	for _, id := range []ID{idA, idB} {
		for _, side := range []Side{HostSide, ContainerSide} {
			mac := MACFor(id, side)
			if len(mac) != 6 {
				t.Fatalf("MACFor(%q, %q) = %v: %d bytes, want 6", id, side, mac, len(mac))
			}
			if mac[0]&0x01 != 0 {
				t.Errorf("MACFor(%q, %q) = %v: multicast bit set", id, side, mac)
			}
			if mac[0]&0x02 == 0 {
				t.Errorf("MACFor(%q, %q) = %v: locally administered bit clear", id, side, mac)
			}
			if again := MACFor(id, side); again.String() != mac.String() {
				t.Errorf("MACFor(%q, %q) = %v then %v, want deterministic", id, side, mac, again)
			}
			if prev, dup := seen[mac.String()]; dup {
				t.Errorf("MACFor(%q, %q) = %v, same as %s", id, side, mac, prev)
			}
			seen[mac.String()] = string(side) + "/" + id.String()
		}
	}
	mac := MACFor(idA, HostSide)
	mac[0] = 0xff // callers may modify the result: it must not be shared
	if MACFor(idA, HostSide)[0] == 0xff {
		t.Errorf("MACFor returns shared storage")
	}
}
