package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/metrics"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
)

func TestReconcilerAndPolicyState(t *testing.T) {
	m := metrics.New()
	m.Reconciler(func() metrics.ReconcilerStats {
		return metrics.ReconcilerStats{Passes: 4, Incomplete: 1, Endpoints: 2, Links: 3, Ports: 5, Failures: 1,
			PortsRepaired: 6, LastPass: time.Unix(1700000000, 0), LastComplete: true}
	})
	m.PolicySync(func() syncreport.Stats {
		return syncreport.Stats{Revision: 9, Errors: 2,
			GC: syncreport.IdentityGC{Leader: true, Passes: 3, LastPass: 1700000100, Alive: 12, Removed: 200, Failures: 1}}
	})
	_, body := scrape(t, m.Handler(func(context.Context) error { return nil }), "/metrics")
	for _, want := range []string{
		"cilium_docker_reconciler_passes_total 4", "cilium_docker_reconciler_incomplete_passes_total 1",
		`cilium_docker_reconciler_removed_total{kind="endpoint"} 2`, `cilium_docker_reconciler_removed_total{kind="link"} 3`,
		`cilium_docker_reconciler_removed_total{kind="address"} 0`, `cilium_docker_reconciler_removed_total{kind="published_ports"} 5`,
		"cilium_docker_reconciler_failures_total 1", `cilium_docker_reconciler_repaired_total{kind="published_ports"} 6`,
		"cilium_docker_reconciler_last_pass_timestamp_seconds 1.7e+09", "cilium_docker_reconciler_last_pass_complete 1",
		"cilium_docker_policy_sync_revision 9", "cilium_docker_policy_sync_errors_total 2",
		"cilium_docker_identity_gc_passes_total 3", "cilium_docker_identity_gc_removed_total 200",
		"cilium_docker_identity_gc_failures_total 1", "cilium_docker_identity_gc_last_pass_timestamp_seconds 1.7000001e+09",
		"cilium_docker_identity_gc_leader 1", "cilium_docker_identity_gc_alive 12",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
