package status

import (
	"time"

	"github.com/cilium-docker/cilium-docker/metrics"
)

// identityGC reports the identity garbage collection of this node's policy sync: elected here or not, and
// its last pass here.
func (c *Checker) identityGC(r *Report, s samples) {
	passes, ok := s.sum(metrics.FullName(metrics.IdentityGCPasses))
	if !ok {
		r.add("Identity GC", Unknown, "", "not reported by this plugin")
		return
	}
	leader, _ := s.sum(metrics.FullName(metrics.IdentityGCLeader))
	last, _ := s.sum(metrics.FullName(metrics.IdentityGCLastPass))
	removed, _ := s.sum(metrics.FullName(metrics.IdentityGCRemoved))
	failures, _ := s.sum(metrics.FullName(metrics.IdentityGCFailures))
	alive, _ := s.sum(metrics.FullName(metrics.IdentityGCAlive))
	where := "another node is elected"
	if leader > 0 {
		where = "elected on this node"
	}
	if last == 0 {
		r.add("Identity GC", OK, "", "%s; no pass here yet", where)
		return
	}
	age := c.now().Sub(time.Unix(int64(last), 0)).Round(time.Second)
	r.add("Identity GC", OK, "", "%s; %.0f passes here: %.0f identities left, %.0f removed, %.0f failed passes; last %s ago",
		where, passes, alive, removed, failures, age)
}
