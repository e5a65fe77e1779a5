package endpoint

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// routeLoopbackVia makes ns send 127.0.0.1 out of its link dev through gw, as a host that means harm
// does: its own loopback routes gone, route_localnet on dev so that the kernel lets such a packet
// leave. (A container needs CAP_NET_ADMIN for this, or only CAP_NET_RAW and a packet socket, which
// Docker grants by default: the route is the simple way to send the same packet.)
func routeLoopbackVia(t *testing.T, ns netns.NsHandle, dev, gw string) {
	t.Helper()
	inNS(t, ns, func() error {
		for _, d := range []string{"all", dev} {
			if err := os.WriteFile(filepath.Join("/proc/sys/net/ipv4/conf", d, "route_localnet"), []byte("1"), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	h, err := newHandleIn(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	link, err := h.LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	local, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_LOCAL}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, r := range local {
		if r.Type == unix.RTN_LOCAL && r.Dst != nil && r.Dst.IP.IsLoopback() {
			if err := h.RouteDel(&r); err != nil {
				t.Fatalf("delete local route %s: %v", r.Dst, err)
			}
			deleted++
		}
	}
	if deleted != 2 {
		t.Fatalf("deleted %d local loopback routes, want 2 (127.0.0.0/8 and 127.0.0.1)", deleted)
	}
	_, dst, _ := net.ParseCIDR("127.0.0.1/32")
	if err := h.RouteAdd(&netlink.Route{Dst: dst, Gw: net.ParseIP(gw), LinkIndex: link.Attrs().Index}); err != nil {
		t.Fatalf("route 127.0.0.1 via %s: %v", gw, err)
	}
}

// udpSink listens on UDP addr in ns, as a node's local-only service (statsd, a DNS cache, memcached)
// does, and hands on what arrives. One datagram is enough to prove a path: a sender with CAP_NET_RAW
// (Docker's default) needs no answer, and could read one with a packet socket.
func udpSink(t *testing.T, ns netns.NsHandle, addr string) <-chan string {
	t.Helper()
	var pc net.PacketConn
	inNS(t, ns, func() (err error) {
		pc, err = net.ListenPacket("udp4", addr)
		return err
	})
	t.Cleanup(func() { _ = pc.Close() })
	got := make(chan string, 16)
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			select {
			case got <- from.String() + " " + string(buf[:n]):
			default:
			}
		}
	}()
	return got
}

// udpSend sends one datagram from ns to addr.
func udpSend(t *testing.T, ns netns.NsHandle, addr string) {
	t.Helper()
	inNS(t, ns, func() error {
		c, err := net.Dial("udp4", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("reached"))
		return err
	})
}

// assertGuarded sends datagrams from ns to addr until the guard has dropped one, and fails when sink
// receives any (or the guard never drops one: then nothing proves why nothing arrived).
func (e *portsEnv) assertGuarded(t *testing.T, from netns.NsHandle, addr string, sink <-chan string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for tick := time.NewTicker(50 * time.Millisecond); ; <-tick.C {
		udpSend(t, from, addr)
		select {
		case got := <-sink:
			t.Fatalf("%s reached: %q", addr, got)
		default:
		}
		if n, err := e.guardDropsNow(t); err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the guard dropped nothing in 5s and nothing arrived: the path is broken for another reason", addr)
		}
	}
	select {
	case got := <-sink:
		t.Fatalf("%s reached: %q", addr, got)
	default:
	}
}

// guardDropsNow returns the packets the loopback guard has dropped in the node netns (an error
// where there is no guard).
func (e *portsEnv) guardDropsNow(t *testing.T) (uint64, error) {
	t.Helper()
	return guardCount(e.nft(t))
}

func (e *portsEnv) routeLocalnet(t *testing.T, link string) string {
	t.Helper()
	var v []byte
	inNS(t, e.ns, func() (err error) {
		v, err = os.ReadFile(filepath.Join("/proc/sys/net/ipv4/conf", link, "route_localnet"))
		return err
	})
	return strings.TrimSpace(string(v))
}

// A container that publishes a port (which turns route_localnet on for its links) must not reach the
// node's 127.0.0.1 services by sending to 127.0.0.1 itself (the CVE-2020-8558 class); the node still
// reaches the container through the mapping on 127.0.0.1.
func TestPortsContainerCannotReachNodeLoopback(t *testing.T) {
	e := newPortsEnv(t)
	serve(t, e.ctr, "80")
	sink := udpSink(t, e.ns, "127.0.0.1:2376")
	eid := portsEID(t)
	if _, err := e.p.Publish(t.Context(), eid, netip.MustParseAddr("10.99.0.2"), []Binding{
		{Proto: TCP, Port: 80, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 18081},
		{Proto: TCP, Port: 80, HostPort: 18080},
	}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if v := e.routeLocalnet(t, NamesFor(eid).Host); v != "1" {
		t.Fatalf("route_localnet on the host link = %q, want 1 (the loopback mapping needs it)", v)
	}
	routeLoopbackVia(t, e.ctr, "eth0", "10.99.0.1")
	e.assertGuarded(t, e.ctr, "127.0.0.1:2376", sink)
	if got, err := dial(t, e.ns, "127.0.0.1:18081"); err != nil || got != "10.99.0.1" {
		t.Fatalf("node -> 127.0.0.1:18081: got %q, %v; want the masqueraded source 10.99.0.1", got, err)
	}
}

// A mapping on 127.0.0.1 answers the node only: a host of the same segment that routes 127.0.0.1 to
// the node gets nothing (moby#41872), nor through a mapping on every address.
func TestPortsLoopbackMappingNotReachableFromLAN(t *testing.T) {
	e := newPortsEnv(t)
	serve(t, e.ctr, "80")
	sink := udpSink(t, e.ctr, ":53")
	eid := portsEID(t)
	if _, err := e.p.Publish(t.Context(), eid, netip.MustParseAddr("10.99.0.2"), []Binding{
		{Proto: UDP, Port: 53, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 18053},
		{Proto: UDP, Port: 53, HostPort: 18054},
		{Proto: TCP, Port: 80, HostPort: 18080},
	}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	// The mappings work where they should: on the node's address from the other host, on 127.0.0.1
	// from the node.
	udpSend(t, e.client, "192.168.99.2:18054")
	waitDatagram(t, sink, "192.168.99.1:")
	udpSend(t, e.ns, "127.0.0.1:18053")
	waitDatagram(t, sink, "10.99.0.1:")
	routeLoopbackVia(t, e.client, "eth0", "192.168.99.2")
	e.assertGuarded(t, e.client, "127.0.0.1:18053", sink)
	e.assertGuarded(t, e.client, "127.0.0.1:18054", sink)
	if got, err := dial(t, e.client, "192.168.99.2:18080"); err != nil || got != "192.168.99.1" {
		t.Fatalf("client -> node:18080: got %q, %v; want the client's own address", got, err)
	}
}

// waitDatagram waits for a datagram from a source starting with from.
func waitDatagram(t *testing.T, sink <-chan string, from string) {
	t.Helper()
	select {
	case got := <-sink:
		if !strings.HasPrefix(got, from) {
			t.Fatalf("datagram %q, want one from %s", got, from)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no datagram from %s in 5s", from)
	}
}

// route_localnet goes back to 0 with the last loopback mapping, and the guard with the table. (While a
// loopback mapping stands, the other tests prove the guard.)
func TestPortsLocalnetRevertedWithLastLoopbackMapping(t *testing.T) {
	e := newPortsEnv(t)
	eid := portsEID(t)
	host := NamesFor(eid).Host
	ctr := netip.MustParseAddr("10.99.0.2")
	if _, err := e.p.Publish(t.Context(), eid, ctr, []Binding{{Proto: TCP, Port: 80, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 18081}}); err != nil {
		t.Fatal(err)
	}
	if v := e.routeLocalnet(t, host); v != "1" {
		t.Fatalf("route_localnet = %q after a loopback mapping, want 1", v)
	}
	// A mapping on one node address only needs no loopback: changing to it turns route_localnet off.
	if _, err := e.p.Publish(t.Context(), eid, ctr, []Binding{{Proto: TCP, Port: 80, HostIP: netip.MustParseAddr("192.168.99.2"), HostPort: 18082}}); err != nil {
		t.Fatal(err)
	}
	if v := e.routeLocalnet(t, host); v != "0" {
		t.Fatalf("route_localnet = %q with no loopback mapping left, want 0", v)
	}
	if err := e.p.Unpublish(t.Context(), eid); err != nil {
		t.Fatal(err)
	}
	e.assertNoTable(t)
}

// A table an older plugin left, with mappings and no guard, gets the guard at Restore.
func TestPortsRestorePutsUpTheGuard(t *testing.T) {
	e := newPortsEnv(t)
	eid := portsEID(t)
	if _, err := e.p.Publish(t.Context(), eid, netip.MustParseAddr("10.99.0.2"), []Binding{{Proto: TCP, Port: 80, HostPort: 18080}}); err != nil {
		t.Fatal(err)
	}
	e.p.Close()
	c := e.nft(t)
	c.DelChain(guardChain())
	if err := flush(c, "delete the guard"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.guardDropsNow(t); err == nil {
		t.Fatal("the guard is still there")
	}
	e.p = NewPortsAt(e.ns, 5*time.Second)
	t.Cleanup(e.p.Close)
	if n, err := e.p.Restore(t.Context()); err != nil || n != 1 {
		t.Fatalf("restore: %d, %v; want 1", n, err)
	}
	if _, err := e.guardDropsNow(t); err != nil {
		t.Fatalf("no guard after restore: %v", err)
	}
}

// The guard's count survives the next publish (a repeated ensureTable leaves a guard in place).
func TestPortsGuardKeptAcrossPublish(t *testing.T) {
	e := newPortsEnv(t)
	sink := udpSink(t, e.ns, "127.0.0.1:2376")
	if _, err := e.p.Publish(t.Context(), portsEID(t), netip.MustParseAddr("10.99.0.2"), []Binding{{Proto: TCP, Port: 80, HostPort: 18080}}); err != nil {
		t.Fatal(err)
	}
	routeLoopbackVia(t, e.ctr, "eth0", "10.99.0.1")
	e.assertGuarded(t, e.ctr, "127.0.0.1:2376", sink)
	n, err := e.guardDropsNow(t)
	if err != nil || n == 0 {
		t.Fatalf("guard: %d, %v", n, err)
	}
	other := MustParseID(sha256Hex("other"))
	if _, err := e.p.Publish(t.Context(), other, netip.MustParseAddr("10.99.0.3"), []Binding{{Proto: TCP, Port: 80, HostPort: 18090}}); err != nil {
		t.Fatal(err)
	}
	if again, err := e.guardDropsNow(t); err != nil || again < n {
		t.Fatalf("guard after another publish: %d, %v; want at least %d", again, err, n)
	}
}
