package endpoint

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// portsEnv is a node netns wired to a "container" netns (10.99.0.2 behind the endpoint's host link
// lxc…, with the route to it) and a "client" netns (192.168.99.1, the node is .2).
type portsEnv struct {
	*testEnv
	ctr, client netns.NsHandle
	p           *Ports
}

func newPortsEnv(t *testing.T) *portsEnv {
	e := &portsEnv{testEnv: newTestEnv(t), ctr: newTestNS(t), client: newTestNS(t)}
	lo, err := e.h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.h.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	e.wire(NamesFor(portsEID(t)).Host, "eth0", e.ctr, "10.99.0.1/24", "10.99.0.2/24", "10.99.0.1")
	e.wire("cdtestu", "eth0", e.client, "192.168.99.2/24", "192.168.99.1/24", "192.168.99.2")
	inNS(t, e.ns, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	})
	e.p = NewPortsAt(e.ns, 5*time.Second)
	t.Cleanup(e.p.Close)
	return e
}

// wire connects the node netns (link node, address nodeAddr) to ns (link peer, address peerAddr,
// default route via gw).
func (e *portsEnv) wire(node, peer string, ns netns.NsHandle, nodeAddr, peerAddr, gw string) {
	t := e.t
	t.Helper()
	v := veth(node, "cdtestp", "")
	e.mustAdd(v)
	p, err := e.h.LinkByName("cdtestp")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.h.LinkSetNsFd(p, int(ns)); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	a, _ := netlink.ParseAddr(nodeAddr)
	must(e.h.AddrAdd(v, a))
	must(e.h.LinkSetUp(v))
	h, err := newHandleIn(ns)
	must(err)
	defer h.Close()
	pl, err := h.LinkByName("cdtestp")
	must(err)
	must(h.LinkSetName(pl, peer))
	pa, _ := netlink.ParseAddr(peerAddr)
	must(h.AddrAdd(pl, pa))
	must(h.LinkSetUp(pl))
	lo, err := h.LinkByName("lo")
	must(err)
	must(h.LinkSetUp(lo))
	must(h.RouteAdd(&netlink.Route{Gw: net.ParseIP(gw), LinkIndex: pl.Attrs().Index}))
}

// inNS runs f on a thread in ns, never returned to the runtime.
func inNS(t *testing.T, ns netns.NsHandle, f func() error) {
	t.Helper()
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := unix.Setns(int(ns), unix.CLONE_NEWNET); err != nil {
			ch <- err
			return
		}
		ch <- f()
	}()
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
}

// serve listens on TCP port in ns and answers each connection with the peer's address.
func serve(t *testing.T, ns netns.NsHandle, port string) {
	t.Helper()
	var ln net.Listener
	inNS(t, ns, func() (err error) {
		ln, err = net.Listen("tcp4", ":"+port)
		return err
	})
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(c.RemoteAddr().(*net.TCPAddr).IP.String() + "\n"))
			_ = c.Close()
		}
	}()
}

// dial connects from ns to addr and returns the line the server wrote back.
func dial(t *testing.T, ns netns.NsHandle, addr string) (string, error) {
	t.Helper()
	var got string
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := unix.Setns(int(ns), unix.CLONE_NEWNET); err != nil {
			ch <- err
			return
		}
		c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
		if err != nil {
			ch <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		got = strings.TrimSpace(string(buf[:n]))
		ch <- err
	}()
	err := <-ch
	return got, err
}

func TestPortsPublishReachesContainerKeepingSource(t *testing.T) {
	e := newPortsEnv(t)
	serve(t, e.ctr, "80")
	eid := portsEID(t)
	ctr := netip.MustParseAddr("10.99.0.2")
	ms, err := e.p.Publish(t.Context(), eid, ctr, []Binding{
		{Proto: TCP, Port: 80, HostPort: 18080},
		{Proto: TCP, Port: 80, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 18081},
		{Proto: UDP, Port: 53}, // -P: any free port
	})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if len(ms) != 3 || ms[0].HostPort != 18080 || ms[1].HostPort != 18081 || ms[2].HostPort == 0 {
		t.Fatalf("mappings %v: want 18080, 18081 and a kernel-chosen UDP port", ms)
	}
	t.Run("from another host, source kept", func(t *testing.T) {
		got, err := dial(t, e.client, "192.168.99.2:18080")
		if err != nil || got != "192.168.99.1" {
			t.Fatalf("client -> node:18080: got %q, %v; want the client's own address", got, err)
		}
	})
	t.Run("from the node", func(t *testing.T) {
		got, err := dial(t, e.ns, "192.168.99.2:18080")
		if err != nil || got != "192.168.99.2" {
			t.Fatalf("node -> node:18080: got %q, %v; want the node's address", got, err)
		}
	})
	t.Run("loopback host address, from the node", func(t *testing.T) {
		got, err := dial(t, e.ns, "127.0.0.1:18081")
		if err != nil || got != "10.99.0.1" {
			t.Fatalf("node -> 127.0.0.1:18081: got %q, %v; want the masqueraded source 10.99.0.1", got, err)
		}
		if _, err := dial(t, e.client, "192.168.99.2:18081"); err == nil {
			t.Fatal("client reached a port published on 127.0.0.1 only")
		}
	})
	t.Run("repeated publish changes nothing", func(t *testing.T) {
		before := e.rules(t)
		again, err := e.p.Publish(t.Context(), eid, ctr, []Binding{
			{Proto: TCP, Port: 80, HostPort: 18080},
			{Proto: TCP, Port: 80, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 18081},
			{Proto: UDP, Port: 53},
		})
		if err != nil || !slices.Equal(again, ms) {
			t.Fatalf("publish again: %v, %v; want %v", again, err, ms)
		}
		if after := e.rules(t); after != before {
			t.Fatalf("rules changed: %d -> %d", before, after)
		}
	})
	t.Run("taken host port refused, nothing changed", func(t *testing.T) {
		before := e.rules(t)
		other := MustParseID(sha256Hex("other"))
		_, err := e.p.Publish(t.Context(), other, netip.MustParseAddr("10.99.0.3"), []Binding{
			{Proto: TCP, Port: 81, HostPort: 18082}, {Proto: TCP, Port: 80, HostPort: 18080}})
		if !errors.Is(err, ErrPortInUse) {
			t.Fatalf("publish on a published port: %v, want ErrPortInUse", err)
		}
		if after := e.rules(t); after != before {
			t.Fatalf("rules changed: %d -> %d", before, after)
		}
		fd, _, err := bindIn(e.ns, TCP, netip.IPv4Unspecified(), 18082)
		if err != nil {
			t.Fatalf("port 18082 of the refused call still held: %v", err)
		}
		_ = unix.Close(fd)
	})
	t.Run("port range takes the next free port", func(t *testing.T) {
		other := MustParseID(sha256Hex("range"))
		got, err := e.p.Publish(t.Context(), other, netip.MustParseAddr("10.99.0.3"),
			[]Binding{{Proto: TCP, Port: 80, HostPort: 18080, HostPortEnd: 18090}})
		if err != nil || len(got) != 1 || got[0].HostPort != 18082 {
			t.Fatalf("publish 18080-18090: %v, %v; want 18082 (18080 and 18081 are taken)", got, err)
		}
		if err := e.p.Unpublish(t.Context(), other); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("restore after a restart", func(t *testing.T) {
		e.p.Close()
		fd, _, err := bindIn(e.ns, TCP, netip.IPv4Unspecified(), 18080)
		if err != nil {
			t.Fatalf("port 18080 still held after close: %v", err)
		}
		_ = unix.Close(fd)
		e.p = NewPortsAt(e.ns, 5*time.Second)
		n, err := e.p.Restore(t.Context())
		if err != nil || n != 3 {
			t.Fatalf("restore: %d, %v; want 3", n, err)
		}
		if _, _, err := bindIn(e.ns, TCP, netip.IPv4Unspecified(), 18080); !errors.Is(err, ErrPortInUse) {
			t.Fatalf("bind 18080 after restore: %v, want ErrPortInUse", err)
		}
	})
	t.Run("unpublish twice leaves nothing", func(t *testing.T) {
		for range 2 {
			if err := e.p.Unpublish(t.Context(), eid); err != nil {
				t.Fatalf("unpublish: %v", err)
			}
		}
		if n := e.rules(t); n != 0 {
			t.Fatalf("%d rules left", n)
		}
		e.assertNoTable(t)
		if _, err := dial(t, e.client, "192.168.99.2:18080"); err == nil {
			t.Fatal("client still reaches the unpublished port")
		}
		fd, _, err := bindIn(e.ns, TCP, netip.IPv4Unspecified(), 18080)
		if err != nil {
			t.Fatalf("port 18080 still held: %v", err)
		}
		_ = unix.Close(fd)
	})
	t.Run("route_localnet off on the route's device with the last loopback mapping", func(t *testing.T) {
		var v []byte
		inNS(t, e.ns, func() (err error) {
			v, err = os.ReadFile(filepath.Join("/proc/sys/net/ipv4/conf", NamesFor(eid).Host, "route_localnet"))
			return err
		})
		if strings.TrimSpace(string(v)) != "0" {
			t.Fatalf("route_localnet = %q, want 0", v)
		}
	})
}

// portsEID is the endpoint of the test's container: its wire to the node is the endpoint's host
// link, as the veth pair of a real endpoint is.
func portsEID(t *testing.T) ID { return MustParseID(sha256Hex(t.Name())) }

// nft opens an nftables connection to the node netns, good for 5 s.
func (e *portsEnv) nft(t *testing.T) *nftables.Conn {
	t.Helper()
	ctx, cancel := nftDeadline(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	c, err := nftConn(ctx, e.ns)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// assertNoTable fails unless the plugin's table, and with it the guard, is gone.
func (e *portsEnv) assertNoTable(t *testing.T) {
	t.Helper()
	if _, err := e.nft(t).ListTableOfFamily(tableName, natTable().Family); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("table %s after the last unpublish: %v, want gone (ENOENT)", tableName, err)
	}
}

// rules counts the plugin's rules in the node netns.
func (e *portsEnv) rules(t *testing.T) int {
	t.Helper()
	rs, err := listRules(e.nft(t))
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}
