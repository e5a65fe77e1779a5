package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
)

// TestReporterMergesTheGC: each report of the sync or of the identity GC writes one line with both
// states, the last of each.
func TestReporterMergesTheGC(t *testing.T) {
	var lines []syncreport.Stats
	r := &reporter{on: true, write: func(s syncreport.Stats) { lines = append(lines, s) }}
	r.sync(syncreport.Stats{Revision: 3})
	r.gc(syncreport.IdentityGC{Leader: true, Passes: 1, Removed: 2})
	r.sync(syncreport.Stats{Revision: 4, Errors: 1})
	want := []syncreport.Stats{
		{Revision: 3},
		{Revision: 3, GC: syncreport.IdentityGC{Leader: true, Passes: 1, Removed: 2}},
		{Revision: 4, Errors: 1, GC: syncreport.IdentityGC{Leader: true, Passes: 1, Removed: 2}},
	}
	if len(lines) != len(want) {
		t.Fatalf("lines %+v, want %+v", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i, lines[i], want[i])
		}
	}
}

// TestSyncRefusesABadInterval: a negative --identity-gc-interval fails the flags' check (sync --validate,
// which the daemon runs at its start).
func TestSyncRefusesABadInterval(t *testing.T) {
	var stderr bytes.Buffer
	err := runWith(context.Background(), "cilium-docker-policy", []string{"sync", "--validate", "--policy-dir=/tmp",
		"--etcd-endpoints=http://127.0.0.1:1", "--identity-gc-interval=-1s"}, nil, &bytes.Buffer{}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--identity-gc-interval -1s") {
		t.Fatalf("err %v, want the interval refused", err)
	}
	if err := runWith(context.Background(), "cilium-docker-policy", []string{"sync", "--validate", "--policy-dir=/tmp",
		"--etcd-endpoints=http://127.0.0.1:1", "--identity-gc-interval=0"}, nil, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("--identity-gc-interval=0 (off): %v", err)
	}
}
