package endpoint

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestBindingCandidates(t *testing.T) {
	tests := []struct {
		b    Binding
		want []uint16
	}{
		{Binding{Proto: TCP, Port: 80, HostPort: 8080}, []uint16{8080}},
		{Binding{Proto: TCP, Port: 80, HostPort: 8080, HostPortEnd: 8080}, []uint16{8080}},
		{Binding{Proto: TCP, Port: 80, HostPort: 8080, HostPortEnd: 8082}, []uint16{8080, 8081, 8082}},
		{Binding{Proto: UDP, Port: 53}, []uint16{0}}, // -P: the kernel picks
		{Binding{Proto: TCP, Port: 80, HostPort: 65535, HostPortEnd: 65535}, []uint16{65535}},
	}
	for _, tt := range tests {
		if err := tt.b.Validate(); err != nil {
			t.Errorf("%+v: %v", tt.b, err)
		}
		if got := tt.b.candidates(); !slices.Equal(got, tt.want) {
			t.Errorf("%+v: candidates %v, want %v", tt.b, got, tt.want)
		}
	}
}

func TestBindingValidate(t *testing.T) {
	for _, tt := range []struct {
		b       Binding
		wantErr string
	}{
		{Binding{Proto: 132, Port: 80, HostPort: 1}, "only tcp and udp"},
		{Binding{Proto: TCP, HostPort: 1}, "no container port"},
		{Binding{Proto: TCP, Port: 80, HostIP: netip.MustParseAddr("fd00::1")}, "only IPv4 unicast"},
		{Binding{Proto: TCP, Port: 80, HostIP: netip.MustParseAddr("224.0.0.1")}, "only IPv4 unicast"},
		{Binding{Proto: TCP, Port: 80, HostPort: 9, HostPortEnd: 8}, "ends before it starts"},
		{Binding{Proto: TCP, Port: 80, HostPortEnd: 8}, "starts at 0"},
	} {
		if err := tt.b.Validate(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%+v: %v, want %q", tt.b, err, tt.wantErr)
		}
	}
}

// The rule comment is the only record a restarted plugin has: it must read back exactly and fit the
// 128 bytes nft shows.
func TestRuleCommentRoundTrip(t *testing.T) {
	eid := MustParseID(sha256Hex("ep"))
	for _, m := range []Mapping{
		{Proto: TCP, HostIP: netip.IPv4Unspecified(), HostPort: 8080, Container: netip.MustParseAddrPort("10.77.0.5:80")},
		{Proto: UDP, HostIP: netip.MustParseAddr("255.255.255.255"), HostPort: 65535, Container: netip.MustParseAddrPort("255.255.255.255:65535")},
	} {
		c := comment(eid, m)
		if len(c) > 128 {
			t.Errorf("comment %q: %d bytes", c, len(c))
		}
		gotID, got, ok, err := parseComment(c)
		if !ok || err != nil || gotID != eid || got != m {
			t.Errorf("parseComment(%q) = %v %v %v %v; want %v %v", c, gotID, got, ok, err, eid, m)
		}
	}
	for _, s := range []string{"", "someone else's rule", "docker"} {
		if _, _, ok, err := parseComment(s); ok || err != nil {
			t.Errorf("parseComment(%q): ok %v, %v; want not ours", s, ok, err)
		}
	}
	for _, s := range []string{"cilium-docker", "cilium-docker nothex tcp 0.0.0.0:1 10.0.0.1:2",
		"cilium-docker " + eid.String() + " sctp 0.0.0.0:1 10.0.0.1:2", "cilium-docker " + eid.String() + " tcp [::]:1 10.0.0.1:2"} {
		if _, _, ok, err := parseComment(s); !ok || err == nil {
			t.Errorf("parseComment(%q): ok %v, %v; want ours and an error", s, ok, err)
		}
	}
}

func TestMappingSatisfies(t *testing.T) {
	ctr := netip.MustParseAddr("10.77.0.5")
	m := Mapping{Proto: TCP, HostIP: netip.IPv4Unspecified(), HostPort: 8085, Container: netip.AddrPortFrom(ctr, 80)}
	for _, tt := range []struct {
		b    Binding
		want bool
	}{
		{Binding{Proto: TCP, Port: 80, HostPort: 8085}, true},
		{Binding{Proto: TCP, Port: 80, HostPort: 8080, HostPortEnd: 8090}, true},
		{Binding{Proto: TCP, Port: 80}, true},
		{Binding{Proto: TCP, Port: 80, HostIP: netip.IPv4Unspecified(), HostPort: 8085}, true},
		{Binding{Proto: UDP, Port: 80, HostPort: 8085}, false},
		{Binding{Proto: TCP, Port: 81, HostPort: 8085}, false},
		{Binding{Proto: TCP, Port: 80, HostPort: 8086}, false},
		{Binding{Proto: TCP, Port: 80, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8085}, false},
	} {
		if got := m.satisfies(tt.b, ctr); got != tt.want {
			t.Errorf("%v satisfies %+v = %v, want %v", m, tt.b, got, tt.want)
		}
	}
}
