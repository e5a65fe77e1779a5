package endpoint

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// The loopback guard. A loopback mapping needs route_localnet on the links towards the container
// (localnet.go), and with it the kernel no longer drops a packet to 127/8 that arrives from outside
// the node as a martian: a container (Docker grants CAP_NET_RAW) or a host of the same segment could
// then reach the node's 127.0.0.1 services (CVE-2020-8558, moby#41872). So the table that holds the
// mappings also holds chain `guard`, hooked at prerouting before conntrack and NAT, which drops every
// packet to 127.0.0.0/8 that did not come in through lo. A reply of a masqueraded loopback connection
// still passes: it arrives addressed to the masquerade address, and conntrack turns it into 127.0.0.1
// only later, at NAT's priority. The guard lives and dies with the table; its rule counts its drops.
const (
	chainGuard = "guard"
	prioGuard  = -300 // raw: before conntrack (-200) and every NAT chain
	guardTag   = "cilium-docker guard: no packet to 127.0.0.0/8 from outside the node"
)

func guardChain() *nftables.Chain {
	prio := nftables.ChainPriority(prioGuard)
	return &nftables.Chain{Name: chainGuard, Table: natTable(), Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: &prio}
}

// ensureGuard queues the guard chain with its one rule when the chain lacks it, replacing whatever
// the chain held: the batch is applied atomically, so there is no instant without the rule, and a
// guard in place (and its count) is left as it is.
// Equivalent to: `nft add chain ip cilium-docker guard '{ type filter hook prerouting priority raw; }';
// nft flush chain ip cilium-docker guard; nft add rule ip cilium-docker guard iifname != "lo" ip daddr 127.0.0.0/8 counter drop`.
func ensureGuard(c *nftables.Conn) {
	if _, err := guardCount(c); err == nil {
		return
	}
	ch := guardChain()
	c.AddChain(ch)
	c.FlushChain(ch)
	c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: guardExprs(),
		UserData: userdata.AppendString(nil, userdata.TypeComment, guardTag)})
}

func guardExprs() []expr.Any {
	lo := make([]byte, unix.IFNAMSIZ)
	copy(lo, "lo")
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: lo},
		ipAddr(16), loopbackNet(),
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{127, 0, 0, 0}},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// guardCount returns the packets the guard has dropped, and an error when the chain holds anything
// but the guard's rule (or does not exist).
func guardCount(c *nftables.Conn) (uint64, error) {
	ch := guardChain()
	rules, err := c.GetRules(ch.Table, ch)
	if err != nil {
		return 0, fmt.Errorf("list the loopback guard: %w", err)
	}
	if len(rules) != 1 {
		return 0, fmt.Errorf("the loopback guard has %d rules, want 1", len(rules))
	}
	for _, e := range rules[0].Exprs {
		if n, ok := e.(*expr.Counter); ok {
			return n.Packets, nil
		}
	}
	return 0, errors.New("the loopback guard's rule has no counter")
}

// guardLocked puts up the table with its loopback guard.
func (p *Ports) guardLocked(ctx context.Context) error {
	c, err := nftConn(ctx, p.ns)
	if err != nil {
		return fmt.Errorf("loopback guard: %w", err)
	}
	ensureTable(c)
	return flush(c, "add the loopback guard")
}
