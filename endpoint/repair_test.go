package endpoint

import (
	"net/netip"
	"testing"
)

// An `nft flush ruleset` (a reload of nftables.service) takes the mappings' rules and the guard away;
// Repair puts them back, and changes nothing when nothing is missing.
func TestPortsRepairAfterFlushRuleset(t *testing.T) {
	e := newPortsEnv(t)
	serve(t, e.ctr, "80")
	eid := portsEID(t)
	if _, err := e.p.Publish(t.Context(), eid, netip.MustParseAddr("10.99.0.2"), []Binding{
		{Proto: TCP, Port: 80, HostPort: 18080},
		{Proto: TCP, Port: 80, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 18081},
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.p.Repair(t.Context()); err != nil || n != 0 {
		t.Fatalf("repair with nothing missing: %d, %v; want 0", n, err)
	}
	before := e.rules(t)
	c := e.nft(t)
	c.FlushRuleset()
	if err := flush(c, "flush ruleset"); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, e.client, "192.168.99.2:18080"); err == nil {
		t.Fatal("the mapping still works after the flush: the test proves nothing")
	}
	if n, err := e.p.Repair(t.Context()); err != nil || n != 1 {
		t.Fatalf("repair after the flush: %d, %v; want 1", n, err)
	}
	if after := e.rules(t); after != before {
		t.Fatalf("%d rules after the repair, want %d", after, before)
	}
	if got, err := dial(t, e.client, "192.168.99.2:18080"); err != nil || got != "192.168.99.1" {
		t.Fatalf("client -> node:18080 after the repair: %q, %v", got, err)
	}
	if got, err := dial(t, e.ns, "127.0.0.1:18081"); err != nil || got != "10.99.0.1" {
		t.Fatalf("node -> 127.0.0.1:18081 after the repair: %q, %v", got, err)
	}
	if _, err := e.guardDropsNow(t); err != nil {
		t.Fatalf("no guard after the repair: %v", err)
	}
	if n, err := e.p.Repair(t.Context()); err != nil || n != 0 {
		t.Fatalf("repair again: %d, %v; want 0", n, err)
	}
}
