package endpoint

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

func TestSpecValidate(t *testing.T) {
	ok := Spec{EndpointID: idA, NetworkID: netB, MTU: 1450,
		IPv4: netip.MustParseAddr("10.0.0.2"), IPv6: netip.MustParseAddr("fd00::2")}
	tests := []struct {
		name   string
		modify func(*Spec)
		want   string // substring of the error; "" = valid
	}{
		{"valid", func(*Spec) {}, ""},
		{"no addresses", func(s *Spec) { s.IPv4, s.IPv6 = netip.Addr{}, netip.Addr{} }, ""},
		{"kernel default mtu", func(s *Spec) { s.MTU = 0 }, ""},
		{"explicit mac", func(s *Spec) { s.ContainerMAC = net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0, 2} }, ""},
		{"zero endpoint", func(s *Spec) { s.EndpointID = ID{} }, `endpoint: invalid id ""`},
		{"zero network", func(s *Spec) { s.NetworkID = NetworkID{} }, `network: invalid id ""`},
		{"mtu too small", func(s *Spec) { s.MTU = 67 }, "mtu 67"},
		{"mtu too big", func(s *Spec) { s.MTU = 65536 }, "mtu 65536"},
		{"negative mtu", func(s *Spec) { s.MTU = -1 }, "mtu -1"},
		{"short mac", func(s *Spec) { s.ContainerMAC = net.HardwareAddr{2, 0, 0} }, "want 6 bytes"},
		{"multicast mac", func(s *Spec) { s.ContainerMAC = net.HardwareAddr{1, 0, 0x5e, 0, 0, 1} }, "multicast"},
		{"zero mac", func(s *Spec) { s.ContainerMAC = make(net.HardwareAddr, 6) }, "all zero"},
		{"v6 in v4 slot", func(s *Spec) { s.IPv4 = netip.MustParseAddr("fd00::1") }, `ipv4 "fd00::1"`},
		{"v4 in v6 slot", func(s *Spec) { s.IPv6 = netip.MustParseAddr("10.0.0.1") }, `ipv6 "10.0.0.1"`},
		{"mapped v4 in v6 slot", func(s *Spec) { s.IPv6 = netip.MustParseAddr("::ffff:10.0.0.1") }, "ipv6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.modify(&s)
			err := s.validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Fatalf("validate() = nil, want error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("validate() = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSpecVethRequest(t *testing.T) {
	s := Spec{EndpointID: idA, NetworkID: netB, MTU: 1450}
	n := NamesFor(idA)
	v := s.veth(n)
	if v.Name != n.Host || v.PeerName != n.Container {
		t.Errorf("names = %q/%q, want %q/%q", v.Name, v.PeerName, n.Host, n.Container)
	}
	if v.MTU != 1450 {
		t.Errorf("MTU = %d, want 1450", v.MTU)
	}
	if v.HardwareAddr.String() != MACFor(idA, HostSide).String() {
		t.Errorf("host MAC = %v, want %v", v.HardwareAddr, MACFor(idA, HostSide))
	}
	if v.PeerHardwareAddr.String() != MACFor(idA, ContainerSide).String() {
		t.Errorf("peer MAC = %v, want %v", v.PeerHardwareAddr, MACFor(idA, ContainerSide))
	}
	if v.TxQLen != -1 || v.PeerTxQLen != -1 {
		t.Errorf("TxQLen = %d/%d, want -1/-1 (kernel default)", v.TxQLen, v.PeerTxQLen)
	}
	mac := net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0, 2}
	s.ContainerMAC = mac
	if got := s.veth(n).PeerHardwareAddr; got.String() != mac.String() {
		t.Errorf("peer MAC with explicit ContainerMAC = %v, want %v", got, mac)
	}
}

func TestInvalidIDsFailBeforeKernel(t *testing.T) {
	// IDs are parsed where the request arrives (ParseID); the only other ID is the zero one, a caller
	// that skipped the parse, and it fails before any kernel access. To be sure a bug here cannot touch
	// the host netns when run as root, aim the Veths at a descriptor that is not a netns: entering it
	// would fail.
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := NewVethsAt(netns.NsHandle(f.Fd()), 0)
	ctx := t.Context()
	if _, err := ParseID("nope"); !errors.Is(err, ErrInvalidID) {
		t.Errorf("ParseID(bad id) = %v, want ErrInvalidID", err)
	}
	if _, err := v.Get(ctx, ID{}); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Get(zero id) = %v, want ErrInvalidID", err)
	}
	if err := v.Delete(ctx, ID{}); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Delete(zero id) = %v, want ErrInvalidID", err)
	}
	if _, err := v.Create(ctx, Spec{EndpointID: ID{}, NetworkID: netB}); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Create(zero id) = %v, want ErrInvalidID", err)
	}
	// And the guard itself holds: with a valid ID the operation fails on entering the netns.
	if _, err := v.Get(ctx, idA); err == nil || !strings.Contains(err.Error(), "enter netns") {
		t.Errorf("Get on a non-netns descriptor = %v, want an enter-netns error", err)
	}
}
