package endpoint

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"testing"
)

// testSpec is a full Spec for endpoint tag of the running test.
func testSpec(t *testing.T, tag string, n byte) Spec {
	return Spec{
		EndpointID: MustParseID(sha256Hex(t.Name() + "/" + tag)),
		NetworkID:  MustParseNetworkID(sha256Hex("network")),
		MTU:        1450,
		IPv4:       netip.AddrFrom4([4]byte{10, 77, 0, n}),
		IPv6:       netip.AddrFrom16([16]byte{0xfd, 0, 15: n}),
	}
}

// assertPair checks the kernel's pair for s against s and against what Create returned.
func (e *testEnv) assertPair(s Spec, got *Link) {
	e.t.Helper()
	n := NamesFor(s.EndpointID)
	host, peer := e.link(n.Host), e.link(n.Container)
	if host == nil || peer == nil {
		e.t.Fatalf("pair %+v: host %v, peer %v; want both", n, host, peer)
	}
	if host.Type() != "veth" || peer.Type() != "veth" {
		e.t.Errorf("types = %s/%s, want veth/veth", host.Type(), peer.Type())
	}
	h, p := host.Attrs(), peer.Attrs()
	if h.ParentIndex != p.Index || p.ParentIndex != h.Index {
		e.t.Errorf("%q (peer index %d) and %q (index %d) are not each other's peer", h.Name, h.ParentIndex, p.Name, p.Index)
	}
	wantMTU := s.MTU
	if wantMTU == 0 {
		wantMTU = 1500 // veth default
	}
	if h.MTU != wantMTU || p.MTU != wantMTU {
		e.t.Errorf("MTU = %d/%d, want %d on both ends", h.MTU, p.MTU, wantMTU)
	}
	if want := MACFor(s.EndpointID, HostSide); !macEqual(h.HardwareAddr, want) {
		e.t.Errorf("host MAC = %v, want %v", h.HardwareAddr, want)
	}
	if want := s.containerMAC(); !macEqual(p.HardwareAddr, want) {
		e.t.Errorf("container MAC = %v, want %v", p.HardwareAddr, want)
	}
	if h.Flags&net.FlagUp == 0 {
		e.t.Errorf("host side %q is down, want up", h.Name)
	}
	if p.Flags&net.FlagUp != 0 {
		e.t.Errorf("container side %q is up, want down", p.Name)
	}
	if want := s.state().String(); h.Alias != want {
		e.t.Errorf("alias = %q, want %q", h.Alias, want)
	}
	want := &Link{Names: n, HostIndex: h.Index, HostMAC: MACFor(s.EndpointID, HostSide),
		ContainerMAC: s.containerMAC(), MTU: wantMTU, NetworkID: s.NetworkID, IPv4: s.IPv4, IPv6: s.IPv6}
	if !linkEqual(got, want) {
		e.t.Errorf("Create returned %+v, want %+v", got, want)
	}
	fromGet, err := e.v.Get(e.t.Context(), s.EndpointID)
	if err != nil {
		e.t.Fatalf("Get: %v", err)
	}
	if !linkEqual(fromGet, want) {
		e.t.Errorf("Get returned %+v, want %+v", fromGet, want)
	}
}

func linkEqual(a, b *Link) bool {
	return a != nil && b != nil && a.Names == b.Names && a.HostIndex == b.HostIndex &&
		macEqual(a.HostMAC, b.HostMAC) && macEqual(a.ContainerMAC, b.ContainerMAC) && a.MTU == b.MTU &&
		a.NetworkID == b.NetworkID && a.IPv4 == b.IPv4 && a.IPv6 == b.IPv6
}

func (e *testEnv) mustCreate(s Spec) *Link {
	e.t.Helper()
	l, err := e.v.Create(e.t.Context(), s)
	if err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return l
}

func TestCreate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Spec)
	}{
		{"both families", func(*Spec) {}},
		{"ipv4 only", func(s *Spec) { s.IPv6 = netip.Addr{} }},
		{"ipv6 only", func(s *Spec) { s.IPv4 = netip.Addr{} }},
		{"no addresses", func(s *Spec) { s.IPv4, s.IPv6 = netip.Addr{}, netip.Addr{} }},
		{"kernel default mtu", func(s *Spec) { s.MTU = 0 }},
		{"jumbo mtu", func(s *Spec) { s.MTU = 9000 }},
		{"explicit container mac", func(s *Spec) { s.ContainerMAC = net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0, 9} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			s := testSpec(t, "ep", 2)
			tt.modify(&s)
			l := e.mustCreate(s)
			e.assertPair(s, l)
			if s.ContainerMAC != nil && !macEqual(l.ContainerMAC, s.ContainerMAC) {
				t.Errorf("ContainerMAC = %v, want the explicit %v", l.ContainerMAC, s.ContainerMAC)
			}
		})
	}
}

func TestCreateIdempotent(t *testing.T) {
	e := newTestEnv(t)
	s := testSpec(t, "ep", 2)
	first := e.mustCreate(s)
	second := e.mustCreate(s)
	if !reflect.DeepEqual(first, second) {
		t.Errorf("second Create = %+v, want %+v", second, first)
	}
	e.assertPair(s, second)

	// A matching pair whose host side went down (the agent does that on endpoint delete) comes back up
	// in place.
	if err := e.h.LinkSetDown(e.link(first.Host)); err != nil {
		t.Fatal(err)
	}
	third := e.mustCreate(s)
	if third.HostIndex != first.HostIndex {
		t.Errorf("HostIndex = %d after re-up, want %d (same link)", third.HostIndex, first.HostIndex)
	}
	e.assertPair(s, third)
}

func TestCreateReplacesStale(t *testing.T) {
	tests := []struct {
		name  string
		stale func(e *testEnv, s Spec) // leaves something in the way of s
	}{
		{"other addresses", func(e *testEnv, s Spec) {
			s.IPv4 = netip.MustParseAddr("10.77.9.9")
			e.mustCreate(s)
		}},
		{"other network", func(e *testEnv, s Spec) {
			s.NetworkID = MustParseNetworkID(sha256Hex("other network"))
			e.mustCreate(s)
		}},
		{"other mtu", func(e *testEnv, s Spec) {
			s.MTU = 1300
			e.mustCreate(s)
		}},
		{"other container mac", func(e *testEnv, s Spec) {
			s.ContainerMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
			e.mustCreate(s)
		}},
		{"foreign peer name", func(e *testEnv, s Spec) {
			e.mustAdd(veth(NamesFor(s.EndpointID).Host, "cdtestpeer", s.state().String()))
		}},
		{"host name taken by a bridge", func(e *testEnv, s Spec) {
			e.mustAdd(nonVeth(NamesFor(s.EndpointID).Host))
		}},
		{"stray container-side link", func(e *testEnv, s Spec) {
			e.mustAdd(nonVeth(NamesFor(s.EndpointID).Container))
		}},
		{"container name held by another pair", func(e *testEnv, s Spec) {
			e.mustAdd(veth("cdtesthost", NamesFor(s.EndpointID).Container, ""))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			s := testSpec(t, "ep", 2)
			tt.stale(e, s)
			l := e.mustCreate(s)
			e.assertPair(s, l)
			e.assertAbsent("cdtestpeer", "cdtesthost")
		})
	}
}

func TestCreateRollsBack(t *testing.T) {
	for _, step := range []string{"add", "alias", "up"} {
		t.Run(step, func(t *testing.T) {
			e := newTestEnv(t)
			injected := fmt.Errorf("injected failure after %s", step)
			e.v.hook = func(s string) error {
				if s == step {
					return injected
				}
				return nil
			}
			s := testSpec(t, "ep", 2)
			_, err := e.v.Create(t.Context(), s)
			if !errors.Is(err, injected) {
				t.Fatalf("Create = %v, want the injected error", err)
			}
			n := NamesFor(s.EndpointID)
			e.assertAbsent(n.Host, n.Container)
			if owned, err := e.v.ListOwned(t.Context()); err != nil || len(owned) != 0 {
				t.Errorf("ListOwned = %+v, %v; want nothing", owned, err)
			}
		})
	}
}
