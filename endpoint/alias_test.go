package endpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestAliasRoundTrip(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0x00, 0x02}
	tests := []struct {
		name string
		st   aliasState
		want string
	}{
		{
			"both families",
			aliasState{NetworkID: netB, IPv4: netip.MustParseAddr("10.77.18.5"), IPv6: netip.MustParseAddr("fd00::5"), ContainerMAC: mac},
			"cilium-docker/v1 net=" + hexB + " ipv4=10.77.18.5 ipv6=fd00::5 mac=02:42:ac:11:00:02",
		},
		{
			"no addresses",
			aliasState{NetworkID: netB, ContainerMAC: mac},
			"cilium-docker/v1 net=" + hexB + " ipv4=- ipv6=- mac=02:42:ac:11:00:02",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.st.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			if len(tt.want) > 255 {
				t.Errorf("alias is %d bytes, over IFALIASZ-1", len(tt.want))
			}
			got, err := parseAlias(tt.want)
			if err != nil {
				t.Fatalf("parseAlias(%q): %v", tt.want, err)
			}
			if got.String() != tt.want {
				t.Errorf("round trip = %q, want %q", got.String(), tt.want)
			}
		})
	}
	// The longest alias (full IPv6) must fit IFALIASZ (256 with the NUL).
	long := aliasState{NetworkID: netB, IPv4: netip.MustParseAddr("255.255.255.255"),
		IPv6: netip.MustParseAddr("fd00:1111:2222:3333:4444:5555:6666:7777"), ContainerMAC: mac}
	if n := len(long.String()); n > 255 {
		t.Errorf("longest alias is %d bytes, over IFALIASZ-1", n)
	}
}

func TestParseAliasRejects(t *testing.T) {
	good := "cilium-docker/v1 net=" + hexB + " ipv4=10.0.0.1 ipv6=- mac=02:42:ac:11:00:02"
	bad := []string{
		"",
		"some other alias",
		strings.Replace(good, "v1", "v2", 1),
		strings.Replace(good, "net="+hexB, "net=abc", 1),
		strings.Replace(good, "ipv4=10.0.0.1", "ipv4=fd00::1", 1),
		strings.Replace(good, "ipv6=-", "ipv6=10.0.0.1", 1),
		strings.Replace(good, "ipv6=-", "ipv6=::ffff:10.0.0.1", 1),
		strings.Replace(good, "ipv6=-", "ipv6=fe80::1%eth0", 1),
		strings.Replace(good, "ipv4=10.0.0.1", "ipv4=", 1),
		strings.Replace(good, "mac=02:42:ac:11:00:02", "mac=02:42:AC:11:00:02", 1), // not canonical
		strings.Replace(good, "mac=02:42:ac:11:00:02", "mac=zz", 1),
		strings.Replace(good, " ipv6=- ", " ", 1),
		strings.Replace(good, "ipv4=10.0.0.1 ipv6=-", "ipv6=- ipv4=10.0.0.1", 1),
		good + " extra=1",
		strings.Replace(good, " ", "  ", 2),
	}
	if _, err := parseAlias(good); err != nil {
		t.Fatalf("parseAlias(%q): %v", good, err)
	}
	for _, s := range bad {
		if _, err := parseAlias(s); err == nil {
			t.Errorf("parseAlias(%q) = nil error, want rejection", s)
		}
	}
}
