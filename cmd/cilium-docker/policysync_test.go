package main

import (
	"slices"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
)

func TestPolicySyncArgs(t *testing.T) {
	cfg := &Config{PolicyDir: "/etc/cilium/policies", NodeName: "n1", IdentityGCInterval: 15 * time.Minute,
		Etcd: cliflags.Etcd{Endpoints: "http://10.0.0.1:2379", CA: "/ca.pem", Timeout: 3 * time.Second}}
	got := policySyncArgs(cfg, "c1", 7, "1.20.2")
	want := []string{"sync", "--report", "--policy-dir=/etc/cilium/policies", "--node-name=n1", "--identity-gc-interval=15m0s",
		"--cluster-name=c1", "--cluster-id=7", "--agent-version=1.20.2", "--etcd-endpoints=http://10.0.0.1:2379", "--etcd-ca=/ca.pem", "--etcd-timeout=3s"}
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

// TestPolicySyncIdentityGC: the identity GC's counts follow the child's report lines and add up across a
// restart of the child; its last pass is kept until the new child passes.
func TestPolicySyncIdentityGC(t *testing.T) {
	p := &policySync{}
	p.started()
	p.line([]byte(`{"revision":7,"gc":{"leader":true,"passes":4,"last_pass":1000,"alive":12,"removed":200,"failures":1}}`))
	want := syncreport.Stats{Revision: 7, GC: syncreport.IdentityGC{Leader: true, Passes: 4, LastPass: 1000, Alive: 12, Removed: 200, Failures: 1}}
	if got := p.stats(); got != want {
		t.Fatalf("after the first sync's report:\n got %+v\nwant %+v", got, want)
	}
	p.started()
	p.line([]byte(`{"revision":8}`))
	want = syncreport.Stats{Revision: 8, GC: syncreport.IdentityGC{Passes: 4, LastPass: 1000, Removed: 200, Failures: 1}}
	if got := p.stats(); got != want {
		t.Fatalf("after the restart:\n got %+v\nwant %+v", got, want)
	}
	p.line([]byte(`{"revision":8,"gc":{"leader":true,"passes":1,"last_pass":2000,"alive":10,"removed":2}}`))
	want = syncreport.Stats{Revision: 8, GC: syncreport.IdentityGC{Leader: true, Passes: 5, LastPass: 2000, Alive: 10, Removed: 202, Failures: 1}}
	if got := p.stats(); got != want {
		t.Fatalf("after the new sync's pass:\n got %+v\nwant %+v", got, want)
	}
}
