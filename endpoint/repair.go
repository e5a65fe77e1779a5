package endpoint

import (
	"context"
	"fmt"
	"slices"
)

// Repair puts back the rules of the mappings this process holds that the kernel lost (an
// `nft flush ruleset`, as a reload of nftables.service does, or a hand's `nft delete table`): the
// host ports stayed reserved, so nothing else took them, but no packet reached the containers. An
// endpoint whose rules are missing or differ gets all of them again in one atomic batch, with the
// table and its guard. It returns how many endpoints it repaired. Mappings it does not hold (a rule
// left without its reservation) are the reconciler's to judge, not Repair's.
// Equivalent to: `nft add table …` and addRules for each mapping whose rule `nft list table ip
// cilium-docker` lacks.
func (p *Ports) Repair(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.held) == 0 {
		return 0, nil
	}
	ctx, cancel := nftDeadline(ctx, p.timeout)
	defer cancel()
	pub, err := p.publishedLocked(ctx)
	if err != nil {
		return 0, fmt.Errorf("repair published ports: %w", err)
	}
	c, err := nftConn(ctx, p.ns)
	if err != nil {
		return 0, fmt.Errorf("repair published ports: %w", err)
	}
	guarded := true
	if _, err := guardCount(c); err != nil {
		guarded = false
	}
	var broken []ID
	for eid, rs := range p.held {
		if !slices.Equal(mappings(rs), pub[eid]) {
			broken = append(broken, eid)
		}
	}
	if len(broken) == 0 && guarded {
		return 0, nil
	}
	for _, eid := range broken {
		st, err := p.stateLocked(c, eid)
		if err != nil {
			return 0, fmt.Errorf("repair published ports of endpoint %s: %w", eid, err)
		}
		for _, r := range st.mine {
			if err := c.DelRule(r); err != nil {
				return 0, fmt.Errorf("repair published ports of endpoint %s: %w", eid, err)
			}
		}
	}
	ensureTable(c)
	for _, eid := range broken {
		for _, r := range p.held[eid] {
			addRules(c, eid, r.m)
		}
	}
	if err := flush(c, "repair nftables rules"); err != nil {
		return 0, fmt.Errorf("repair published ports: %w", err)
	}
	return len(broken), nil
}
