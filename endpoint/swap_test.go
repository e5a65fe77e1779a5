package endpoint

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// Changed bindings replace the old ones only when all the new ones hold: a new port in use fails the
// call with the old mappings in place, still reachable and still reserved.
func TestPortsChangedBindingsKeepTheOldOnFailure(t *testing.T) {
	e := newPortsEnv(t)
	serve(t, e.ctr, "80")
	eid := portsEID(t)
	ctr := netip.MustParseAddr("10.99.0.2")
	old, err := e.p.Publish(t.Context(), eid, ctr, []Binding{{Proto: TCP, Port: 80, HostPort: 18080}})
	if err != nil {
		t.Fatal(err)
	}
	fd, _, err := bindIn(e.ns, TCP, netip.IPv4Unspecified(), 18085) // another process's port
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	before := e.rules(t)
	_, err = e.p.Publish(t.Context(), eid, ctr, []Binding{{Proto: TCP, Port: 80, HostPort: 18086}, {Proto: TCP, Port: 80, HostPort: 18085}})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("publish on a port in use: %v, want ErrPortInUse", err)
	}
	if after := e.rules(t); after != before {
		t.Fatalf("rules changed: %d -> %d", before, after)
	}
	if got, err := dial(t, e.client, "192.168.99.2:18080"); err != nil || got != "192.168.99.1" {
		t.Fatalf("the old mapping after the failed change: %q, %v", got, err)
	}
	if _, _, err := bindIn(e.ns, TCP, netip.IPv4Unspecified(), 18080); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("the old mapping's port is no longer held: %v", err)
	}
	if fd, _, err := bindIn(e.ns, TCP, netip.IPv4Unspecified(), 18086); err != nil {
		t.Fatalf("port 18086 of the failed change still held: %v", err)
	} else {
		_ = unix.Close(fd)
	}
	if again, err := e.p.Publish(t.Context(), eid, ctr, []Binding{{Proto: TCP, Port: 80, HostPort: 18080}}); err != nil || !slices.Equal(again, old) {
		t.Fatalf("the old bindings again: %v, %v; want %v unchanged", again, err, old)
	}
}

// A change may keep a port (another container port behind it) or move it to another host address.
func TestPortsChangedBindingsReuseTheirPorts(t *testing.T) {
	e := newPortsEnv(t)
	serve(t, e.ctr, "80")
	serve(t, e.ctr, "81")
	eid := portsEID(t)
	ctr := netip.MustParseAddr("10.99.0.2")
	if _, err := e.p.Publish(t.Context(), eid, ctr, []Binding{{Proto: TCP, Port: 80, HostPort: 18080}}); err != nil {
		t.Fatal(err)
	}
	ms, err := e.p.Publish(t.Context(), eid, ctr, []Binding{{Proto: TCP, Port: 81, HostPort: 18080}})
	if err != nil || len(ms) != 1 || ms[0].Container.Port() != 81 {
		t.Fatalf("18080 -> :81: %v, %v", ms, err)
	}
	if got, err := dial(t, e.client, "192.168.99.2:18080"); err != nil || got != "192.168.99.1" {
		t.Fatalf("client -> node:18080 after the change: %q, %v", got, err)
	}
	ms, err = e.p.Publish(t.Context(), eid, ctr, []Binding{{Proto: TCP, Port: 81, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 18080}})
	if err != nil || len(ms) != 1 || !ms[0].HostIP.IsLoopback() {
		t.Fatalf("0.0.0.0:18080 -> 127.0.0.1:18080: %v, %v", ms, err)
	}
	if _, err := dial(t, e.client, "192.168.99.2:18080"); err == nil {
		t.Fatal("the client still reaches 18080 on the node's address")
	}
	if got, err := dial(t, e.ns, "127.0.0.1:18080"); err != nil || got != "10.99.0.1" {
		t.Fatalf("node -> 127.0.0.1:18080: %q, %v", got, err)
	}
	if n := e.rules(t); n != 2 { // output and the masquerade
		t.Fatalf("%d rules, want 2", n)
	}
}
