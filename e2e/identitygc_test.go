package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// The identities' keys in etcd (Cilium's kvstore allocator: master keys id/<ID> => labels, slave keys
// value/<labels>/<node> => ID on the node's lease).
const (
	identityIDs    = "cilium/state/identities/v1/id/"
	identityValues = "cilium/state/identities/v1/value/"
	// bedGCInterval is the bed's --identity-gc-interval (testbed.BedPlugin's IdentityGCInterval).
	bedGCInterval = 10 * time.Second
	// gcPatience: a master key goes at the second pass that finds it unused (Cilium's rule), and a pass
	// takes its locks one key at a time.
	gcPatience = 2*bedGCInterval + 40*time.Second
)

// masterKeys are the identities in etcd: ID => labels.
func masterKeys(t *testing.T, nd *bed.Node) map[int]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(nd.Etcdctl(t, "get", "--prefix", identityIDs)), "\n")
	out := map[int]string{}
	for i := 0; i+1 < len(lines); i += 2 {
		id, err := strconv.Atoi(strings.TrimPrefix(lines[i], identityIDs))
		if err != nil {
			t.Fatalf("master key %q: %v", lines[i], err)
		}
		out[id] = lines[i+1]
	}
	return out
}

// withLabel are the IDs of the master keys whose labels hold label ("container:gcchurn=").
func withLabel(keys map[int]string, label string) []int {
	var ids []int
	for id, l := range keys {
		if strings.Contains(l, label) {
			ids = append(ids, id)
		}
	}
	return ids
}

// slaveLease is the lease of the slave key of the identity whose labels hold label.
func slaveLease(t *testing.T, nd *bed.Node, label string) int64 {
	t.Helper()
	var r struct {
		Kvs []struct {
			Key   string `json:"key"`
			Lease int64  `json:"lease"`
		} `json:"kvs"`
	}
	if err := json.Unmarshal([]byte(nd.Etcdctl(t, "get", "--prefix", identityValues, "-w", "json")), &r); err != nil {
		t.Fatal(err)
	}
	for _, kv := range r.Kvs {
		k, err := base64.StdEncoding.DecodeString(kv.Key)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(k), label) {
			if kv.Lease == 0 {
				t.Fatalf("slave key %s has no lease", k)
			}
			return kv.Lease
		}
	}
	t.Fatalf("no slave key for %s", label)
	return 0
}

// gcMetrics are the identity GC's counters on the node's plugin /metrics.
func gcMetrics(t *testing.T, nd *bed.Node) (passes, removed, leader float64) {
	t.Helper()
	out := nd.Exec(t, "curl", "-sf", "--max-time", "5", "http://127.0.0.1:9962/metrics")
	val := func(name string) float64 {
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, name+" "); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				return f
			}
		}
		t.Fatalf("node %d's /metrics lacks %s", nd.N, name)
		return 0
	}
	return val("cilium_docker_identity_gc_passes_total"), val("cilium_docker_identity_gc_removed_total"),
		val("cilium_docker_identity_gc_leader")
}

// TestIdentityGC is issue 20 point 1 on two nodes: Cilium's kvstore identity GC, elected in one plugin's
// policy sync, removes the identities of 200 unique label sets churned on node 1 once their containers are
// gone; keeps those still used on node 2, also while node 2's agent is down, until its lease is gone
// (revoked here, as its TTL would); and status and /metrics show the passes and the removals. Node 2's
// agent is down for the whole churn on node 1: the passes during the churn are the ones that must keep
// node 2's identities, so the test waits for no passes of its own there.
func TestIdentityGC(t *testing.T) {
	n1 := bed.Up(t, 1)
	n2 := bed.Up(t, 2)
	nodes := []*bed.Node{n1, n2}
	net := "cd-idgc"
	n1.Network(t, net)
	n2.Network(t, net)
	n2.Run(t, "gckept", "-l", "gckept=1", "--net", net, bed.Image, "sleep", "100000")
	n2.Run(t, "gcshared2", "-l", "gcshared=1", "--net", net, bed.Image, "sleep", "100000")
	n1.Run(t, "gcshared1", "-l", "gcshared=1", "--net", net, bed.Image, "sleep", "100000")
	var removed0 float64
	for _, nd := range nodes {
		_, r, _ := gcMetrics(t, nd)
		removed0 += r
	}
	passes := func() float64 {
		var p float64
		for _, nd := range nodes {
			pp, _, _ := gcMetrics(t, nd)
			p += pp
		}
		return p
	}

	// Node 2's agent down (killed: its lease stays until its TTL) for the churn and after it.
	lease := slaveLease(t, n1, "container:gckept=1;")
	n2.Kill(t, bed.Agent)
	agentDown := true
	t.Cleanup(func() {
		if agentDown {
			n2.Start(t, bed.Agent)
		}
	})
	p0 := passes()

	// Churn: 200 unique label sets on node 1, in 4 lanes; each container gone when its run returns.
	const churn, lanes = 200, 4
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, lanes)
	for lane := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lane; i < churn; i += lanes {
				if out, err := n1.Docker(t, "run", "--rm", "--pull", "never", "-l", fmt.Sprintf("gcchurn=%d", i), "--net", net,
					bed.Image, "true"); err != nil {
					errs <- fmt.Errorf("churn %d: %w: %s", i, err, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("churn: %d unique label sets run and removed on node 1 in %s", churn, time.Since(start).Round(time.Second))
	// The GC passes during the churn (2 min of it on 2 cores): most churned identities are gone already.
	keys := masterKeys(t, n1)
	t.Logf("%d churned identities left in etcd when the churn ends", len(withLabel(keys, "container:gcchurn=")))
	kept, shared := withLabel(keys, "container:gckept=1;"), withLabel(keys, "container:gcshared=1;")
	if len(kept) != 1 || len(shared) != 1 {
		t.Fatalf("identities of gckept %v, gcshared %v: want one each", kept, shared)
	}

	// At least three passes with node 2's agent down (the churn's), and its identities stay.
	bed.Eventually(t, gcPatience, "three GC passes with node 2's agent down", func() error {
		if p := passes(); p < p0+3 {
			return fmt.Errorf("%.0f passes since node 2's agent stopped", p-p0)
		}
		return nil
	})
	if _, ok := masterKeys(t, n1)[kept[0]]; !ok {
		t.Fatalf("identity %d of gckept removed while node 2's agent is down and its lease lives", kept[0])
	}
	downPasses := passes() - p0
	// Its lease gone (what its TTL does to a node that stays down): the identity only node 2 used goes,
	// the one node 1 uses too stays. The churned ones go in the same passes.
	n1.Etcdctl(t, "lease", "revoke", strconv.FormatInt(lease, 16))
	gone := time.Now()
	bed.Eventually(t, gcPatience, "the churned identities removed", func() error {
		if left := withLabel(masterKeys(t, n1), "container:gcchurn="); len(left) > 0 {
			return fmt.Errorf("%d churned identities left, e.g. %d", len(left), left[0])
		}
		return nil
	})
	t.Logf("the churned identities removed %s after the churn (--identity-gc-interval %s)", time.Since(gone).Round(time.Second), bedGCInterval)
	bed.Eventually(t, gcPatience, "gckept's identity removed once node 2's lease is gone", func() error {
		if _, ok := masterKeys(t, n1)[kept[0]]; ok {
			return fmt.Errorf("identity %d of gckept still there", kept[0])
		}
		return nil
	})
	t.Logf("gckept's identity %d: kept over %.0f passes with node 2's agent down, removed %s after its lease was revoked",
		kept[0], downPasses, time.Since(gone).Round(time.Second))
	if _, ok := masterKeys(t, n1)[shared[0]]; !ok {
		t.Fatalf("identity %d of gcshared, used on node 1, removed", shared[0])
	}

	var removed, leaders float64
	elected := map[int]bool{}
	for _, nd := range nodes {
		_, r, l := gcMetrics(t, nd)
		removed += r
		leaders += l
		elected[nd.N] = l == 1
	}
	t.Logf("/metrics: %.0f identities removed during the test, node %v elected", removed-removed0, elected)
	if removed-removed0 < churn+1 || leaders != 1 {
		t.Errorf("/metrics: %.0f identities removed during the test (want >= %d: the churn's and gckept's), %.0f leaders (want 1)",
			removed-removed0, churn+1, leaders)
	}
	// status on both nodes, node 2's agent up again.
	n2.Start(t, bed.Agent)
	agentDown = false
	for _, nd := range nodes {
		text, r, _, _ := status(t, nd)
		st, detail := r.check("Identity GC")
		want := "another node is elected"
		if elected[nd.N] {
			want = "elected on this node"
		}
		if st != "ok" || !strings.HasPrefix(detail, want) || elected[nd.N] && !strings.Contains(detail, "removed") {
			t.Errorf("node %d status: Identity GC %s %q, want ok %q…:\n%s", nd.N, st, detail, want, text)
		}
	}
}
