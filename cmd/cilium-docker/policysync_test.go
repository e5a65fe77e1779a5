package main

import (
	"slices"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
)

func TestPolicySyncArgs(t *testing.T) {
	cfg := &Config{PolicyDir: "/etc/cilium/policies", NodeName: "n1",
		Etcd: cliflags.Etcd{Endpoints: "http://10.0.0.1:2379", CA: "/ca.pem", Timeout: 3 * time.Second}}
	got := policySyncArgs(cfg, "c1", "1.20.2")
	want := []string{"sync", "--report", "--policy-dir=/etc/cilium/policies", "--node-name=n1", "--cluster-name=c1",
		"--agent-version=1.20.2", "--etcd-endpoints=http://10.0.0.1:2379", "--etcd-ca=/ca.pem", "--etcd-timeout=3s"}
	if !slices.Equal(got, want) {
		t.Fatalf("args:\n got %q\nwant %q", got, want)
	}
}

// TestPolicySyncStats: the metrics follow the child's --report lines, and the error counter keeps what
// a sync that ended had counted when a new one starts from 0.
func TestPolicySyncStats(t *testing.T) {
	p := &policySync{}
	p.started()
	p.line([]byte(`{"revision":7,"refused":1,"errors":2,"failing":true}`))
	p.line([]byte(`time="…" level=info msg="not a report"`))
	p.line([]byte(`{"refused":1}`)) // no revision: not a report
	if got := p.stats(); got != (syncreport.Stats{Revision: 7, Errors: 2, Refused: 1, Failing: true}) {
		t.Fatalf("after the first sync's report: %+v", got)
	}
	p.started() // the child was restarted
	p.line([]byte(`{"revision":9,"refused":0,"errors":1}`))
	if got := p.stats(); got != (syncreport.Stats{Revision: 9, Errors: 3}) {
		t.Fatalf("after the second sync's report: %+v, want revision 9 and 2+1 errors", got)
	}
}
