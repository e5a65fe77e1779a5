package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	mnl "github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The plugin's own nftables table, `ip cilium-docker`. Its NAT chains run just before Docker's and
// Cilium's iptables(-nft) NAT chains (dstnat -100, srcnat 100), so a published port is translated here
// first and the others never see it as addressed to the node; nothing of theirs is touched.
const (
	tableName       = "cilium-docker"
	chainPrerouting = "prerouting"  // traffic from other hosts
	chainOutput     = "output"      // traffic from the node itself
	chainPost       = "postrouting" // the masquerade of a loopback source (a connection to 127.0.0.1:port)
	prioDNAT        = -100 - 10
	prioSNAT        = 100 - 10
)

// natTable is the plugin's table (a fresh value per call: the library takes pointers).
func natTable() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyIPv4, Name: tableName}
}

// natChain is the plugin's base chain name, hooked where its name says.
func natChain(name string) *nftables.Chain {
	hook, prio := nftables.ChainHookPrerouting, nftables.ChainPriority(prioDNAT)
	switch name {
	case chainOutput:
		hook = nftables.ChainHookOutput
	case chainPost:
		hook, prio = nftables.ChainHookPostrouting, nftables.ChainPriority(prioSNAT)
	}
	return &nftables.Chain{Name: name, Table: natTable(), Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: &prio}
}

// natChains are the plugin's chains, in the order rules are listed.
func natChains() []*nftables.Chain {
	return []*nftables.Chain{natChain(chainPrerouting), natChain(chainOutput), natChain(chainPost)}
}

// nftConn opens a connection to nftables in ns whose every request ends by ctx's deadline.
func nftConn(ctx context.Context, ns netns.NsHandle) (*nftables.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	deadline, _ := ctx.Deadline() // always set: Ports adds its timeout
	opts := []nftables.ConnOption{nftables.WithSockOptions(func(c *mnl.Conn) error { return c.SetDeadline(deadline) })}
	if ns.IsOpen() {
		opts = append(opts, nftables.WithNetNSFd(int(ns)))
	}
	return nftables.New(opts...)
}

// ensureTable queues the table, its NAT chains (a no-op for those that exist) and the loopback guard
// (guard.go), which every table of the plugin holds.
// Equivalent to: `nft add table ip cilium-docker; nft add chain ip cilium-docker prerouting '{ type nat hook prerouting priority -110; }'` …
func ensureTable(c *nftables.Conn) {
	c.AddTable(natTable())
	for _, ch := range natChains() {
		c.AddChain(ch)
	}
	ensureGuard(c)
}

// ownedRule is one rule of the plugin's table with what its comment says.
type ownedRule struct {
	rule *nftables.Rule
	eid  ID
	m    Mapping
}

// listRules returns the plugin's rules of every chain (none when the table does not exist). Rules
// that are not the plugin's, or whose mark it cannot read, are skipped: only this package writes the
// table, so neither happens but by hand.
// Equivalent to: `nft -a list table ip cilium-docker`.
func listRules(c *nftables.Conn) ([]ownedRule, error) {
	rules, _, err := listRulesCounted(c)
	return rules, err
}

// listRulesCounted is listRules that also counts every rule of the table, the plugin's or not.
func listRulesCounted(c *nftables.Conn) (_ []ownedRule, total int, _ error) {
	var out []ownedRule
	for _, ch := range natChains() {
		rules, err := c.GetRules(ch.Table, ch)
		if errors.Is(err, unix.ENOENT) {
			continue // no table or chain yet: no rules
		}
		if err != nil {
			return nil, 0, fmt.Errorf("list nftables rules of chain %q: %w", ch.Name, err)
		}
		total += len(rules)
		for _, r := range rules {
			text, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			if eid, m, ok, err := parseComment(text); ok && err == nil {
				out = append(out, ownedRule{rule: r, eid: eid, m: m})
			}
		}
	}
	return out, total, nil
}

// tableState is what the table holds of one endpoint and of the others.
type tableState struct {
	mine           []*nftables.Rule
	loopback       netip.Addr // the container of the endpoint's loopback mappings, if it has any
	othersLoopback bool       // another endpoint has a loopback mapping
	total          int        // the table's rules in its NAT chains, the plugin's or not
}

func (p *Ports) stateLocked(c *nftables.Conn, eid ID) (tableState, error) {
	rules, total, err := listRulesCounted(c)
	if err != nil {
		return tableState{}, err
	}
	st := tableState{total: total}
	for _, r := range rules {
		switch {
		case r.eid == eid:
			st.mine = append(st.mine, r.rule)
			if r.m.coversLoopback() {
				st.loopback = r.m.Container.Addr()
			}
		case r.m.coversLoopback():
			st.othersLoopback = true
		}
	}
	return st, nil
}

// addRules queues the rules of m for eid: the DNAT of the host port in output (the node's own
// connections) and, unless the host address is a loopback one, in prerouting (other hosts' and the
// containers'), where a mapping on every address leaves 127/8 out; for a mapping that answers on
// loopback, the masquerade of a 127/8 source. A loopback address is the node's alone: no packet from
// outside may reach it (the guard drops such packets too; guard.go). Equivalent to:
//
//	nft add rule ip cilium-docker output     [ip daddr $hostip | fib daddr type local] meta l4proto $proto th dport $hostport dnat to $ctr:$port comment "cilium-docker …"
//	nft add rule ip cilium-docker prerouting [ip daddr $hostip | ip daddr != 127.0.0.0/8 fib daddr type local] … (the same; none for a loopback $hostip)
//	nft add rule ip cilium-docker postrouting ip saddr 127.0.0.0/8 ip daddr $ctr meta l4proto $proto th dport $port masquerade comment "…"
func addRules(c *nftables.Conn, eid ID, m Mapping) {
	ud := userdata.AppendString(nil, userdata.TypeComment, comment(eid, m))
	ch := natChain(chainOutput)
	c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, UserData: ud, Exprs: dnatExprs(m, false)})
	if !m.HostIP.IsLoopback() {
		ch := natChain(chainPrerouting)
		c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, UserData: ud, Exprs: dnatExprs(m, true)})
	}
	if m.coversLoopback() {
		ch := natChain(chainPost)
		c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, UserData: ud, Exprs: masqExprs(m)})
	}
}

// dnatExprs are the DNAT rule of m; fromOutside (prerouting) leaves 127/8 out of a mapping on every
// address.
func dnatExprs(m Mapping, fromOutside bool) []expr.Any {
	var e []expr.Any
	if m.HostIP.IsUnspecified() {
		if fromOutside {
			e = append(e, ipAddr(16), loopbackNet(),
				&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{127, 0, 0, 0}})
		}
		e = append(e, &expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)})
	} else {
		e = append(e, ipAddr(16), eqAddr(m.HostIP))
	}
	e = append(e, l4(m.Proto, m.HostPort)...)
	ctr := m.Container.Addr().As4()
	return append(e,
		&expr.Immediate{Register: 1, Data: ctr[:]},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(m.Container.Port())},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2})
}

func masqExprs(m Mapping) []expr.Any {
	e := []expr.Any{
		ipAddr(12), loopbackNet(),
		eqAddr(netip.AddrFrom4([4]byte{127, 0, 0, 0})),
		ipAddr(16), eqAddr(m.Container.Addr()),
	}
	e = append(e, l4(m.Proto, m.Container.Port())...)
	return append(e, &expr.Masq{})
}

// ipAddr loads the IPv4 header's source (offset 12) or destination (16) address into register 1.
func ipAddr(offset uint32) expr.Any {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4}
}

// loopbackNet masks register 1 (an IPv4 address) to its /8: 127.0.0.0 for every loopback address.
func loopbackNet() expr.Any {
	return &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{255, 0, 0, 0}, Xor: []byte{0, 0, 0, 0}}
}

func eqAddr(a netip.Addr) expr.Any {
	b := a.As4()
	return &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b[:]}
}

// l4 matches the transport protocol and destination port (th dport: offset 2 for TCP and UDP).
func l4(p Proto, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(p)}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// flush sends the queued batch, which the kernel applies atomically, and says what it was for.
func flush(c *nftables.Conn, what string) error {
	if err := c.Flush(); err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return fmt.Errorf("%s: %w: %w", what, context.DeadlineExceeded, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// nftDeadline bounds a Ports operation.
func nftDeadline(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, timeout)
}
