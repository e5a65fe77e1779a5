package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
)

// Names of the plugin-state metrics that `cilium-docker status` reads from /metrics (without the
// cilium_docker_ prefix, see FullName).
const (
	ReconcilerPasses     = "reconciler_passes_total"                // complete passes
	ReconcilerIncomplete = "reconciler_incomplete_passes_total"     // passes that could not read everything
	ReconcilerRemoved    = "reconciler_removed_total"               // objects removed, by kind
	ReconcilerFailures   = "reconciler_failures_total"              // removals that failed
	ReconcilerRepaired   = "reconciler_repaired_total"              // objects put back, by kind
	ReconcilerLastPass   = "reconciler_last_pass_timestamp_seconds" // end of the last pass, complete or not
	ReconcilerLastOK     = "reconciler_last_pass_complete"          // 1 when the last pass read everything
	PolicyRevision       = "policy_sync_revision"                   // the policy revision last applied
	PolicyErrors         = "policy_sync_errors_total"               // policy sync failures
	PolicyRefused        = "policy_sync_refused"                    // documents of that revision not in force as stored
	PolicyFailing        = "policy_sync_failing"                    // 1 while the sync's last pass failed
	EndpointsManaged     = "endpoints_managed"
	IdentityGCPasses     = "identity_gc_passes_total"                // identity GC passes on this node
	IdentityGCRemoved    = "identity_gc_removed_total"               // identities the GC removed on this node
	IdentityGCFailures   = "identity_gc_failures_total"              // identity GC passes that failed
	IdentityGCLastPass   = "identity_gc_last_pass_timestamp_seconds" // end of this node's last GC pass
	IdentityGCLeader     = "identity_gc_leader"                      // 1 while this node's GC is the elected one
	IdentityGCAlive      = "identity_gc_alive"                       // identities the last pass left
)

// FullName is the exposed name of one of the plugin's metrics.
func FullName(name string) string { return namespace + "_" + name }

// ReconcilerStats is what the reconciler reports of itself.
type ReconcilerStats struct {
	Passes, Incomplete          uint64
	Endpoints, Links, Addresses uint64 // removed
	Ports                       uint64 // endpoints whose published ports were removed
	Failures                    uint64
	PortsRepaired               uint64    // endpoints whose published ports' lost rules were put back
	LastPass                    time.Time // zero: no pass yet
	LastComplete                bool
}

// Reconciler publishes the reconciler's stats, read from f at each scrape.
func (m *Metrics) Reconciler(f func() ReconcilerStats) {
	m.reg.MustRegister(reconcilerCollector(f))
}

type reconcilerCollector func() ReconcilerStats

var (
	descPasses     = desc(ReconcilerPasses, "Reconciler passes that read Docker, the agent and the kernel completely.")
	descIncomplete = desc(ReconcilerIncomplete, "Reconciler passes that could not read everything, and so removed nothing.")
	descRemoved    = desc(ReconcilerRemoved, "Objects the reconciler removed because no Docker endpoint explains them, by kind.", "kind")
	descFailures   = desc(ReconcilerFailures, "Reconciler removals that failed (tried again at the next pass).")
	descRepaired   = desc(ReconcilerRepaired, "Objects the kernel had lost and the reconciler put back, by kind.", "kind")
	descLastPass   = desc(ReconcilerLastPass, "Unix time the reconciler's last pass ended (0: none yet).")
	descLastOK     = desc(ReconcilerLastOK, "1 when the reconciler's last pass read everything, else 0.")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(FullName(name), help, labels, nil)
}

func (f reconcilerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPasses, descIncomplete, descRemoved, descFailures, descRepaired, descLastPass, descLastOK} {
		ch <- d
	}
}

func (f reconcilerCollector) Collect(ch chan<- prometheus.Metric) {
	s := f()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descPasses, s.Passes)
	counter(descIncomplete, s.Incomplete)
	counter(descRemoved, s.Endpoints, "endpoint")
	counter(descRemoved, s.Links, "link")
	counter(descRemoved, s.Addresses, "address")
	counter(descRemoved, s.Ports, "published_ports")
	counter(descFailures, s.Failures)
	counter(descRepaired, s.PortsRepaired, "published_ports")
	last := 0.0
	if !s.LastPass.IsZero() {
		last = float64(s.LastPass.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(descLastPass, prometheus.GaugeValue, last)
	ok := 0.0
	if s.LastComplete {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(descLastOK, prometheus.GaugeValue, ok)
}

// PolicySync publishes the policy sync's revision and error count, read from f at each scrape: the
// sync's last report, its Errors those since the plugin started.
func (m *Metrics) PolicySync(f func() syncreport.Stats) {
	m.Gauge(PolicyRevision, "The policy revision the policy sync last applied.", func() float64 { return float64(f().Revision) })
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: PolicyErrors,
		Help: "Policy sync failures."}, func() float64 { return float64(f().Errors) }))
	m.Gauge(PolicyRefused, "Policies of the applied revision the policy sync refused (their last good revision stays).",
		func() float64 { return float64(f().Refused) })
	m.Gauge(PolicyFailing, "1 while the policy sync's last pass failed (etcd unreachable, the watch broke), else 0.", func() float64 {
		return one(f().Failing)
	})
	counter := func(name, help string, v func(syncreport.IdentityGC) uint64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help},
			func() float64 { return float64(v(f().GC)) }))
	}
	counter(IdentityGCPasses, "Passes of Cilium's identity garbage collection run on this node (the elected one).",
		func(g syncreport.IdentityGC) uint64 { return g.Passes })
	counter(IdentityGCRemoved, "Identities (kvstore master keys) the identity garbage collection removed on this node.",
		func(g syncreport.IdentityGC) uint64 { return g.Removed })
	counter(IdentityGCFailures, "Identity garbage collection passes that failed on this node.",
		func(g syncreport.IdentityGC) uint64 { return g.Failures })
	m.Gauge(IdentityGCLastPass, "Unix time this node's last identity garbage collection pass ended (0: none yet).",
		func() float64 { return float64(f().GC.LastPass) })
	m.Gauge(IdentityGCLeader, "1 while this node's identity garbage collection is the cluster's elected one, else 0.",
		func() float64 { return one(f().GC.Leader) })
	m.Gauge(IdentityGCAlive, "Identities (kvstore master keys) this node's last identity garbage collection pass left.",
		func() float64 { return float64(f().GC.Alive) })
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
