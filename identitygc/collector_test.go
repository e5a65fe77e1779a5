package identitygc_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/cilium-docker/cilium-docker/backoff"
	"github.com/cilium-docker/cilium-docker/identitygc"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
	"github.com/cilium-docker/cilium-docker/policy/store/etcdtest"
)

// The key layout the agents write (pkg/kvstore/allocator of Cilium 1.19.7 and 1.20.2, identical).
const (
	idPrefix    = "cilium/state/identities/v1/id/"
	valuePrefix = "cilium/state/identities/v1/value/"
)

func dial(t *testing.T, url string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// identity writes an agent's master key of id for labels, and when lease is not 0 the slave key of node
// on that lease (what an agent writes while one of its endpoints has the labels).
func identity(t *testing.T, cli *clientv3.Client, id int, labels, node string, lease clientv3.LeaseID) {
	t.Helper()
	ctx := context.Background()
	if _, err := cli.Put(ctx, fmt.Sprintf("%s%d", idPrefix, id), labels); err != nil {
		t.Fatal(err)
	}
	if lease != 0 {
		if _, err := cli.Put(ctx, valuePrefix+labels+"/"+node, fmt.Sprint(id), clientv3.WithLease(lease)); err != nil {
			t.Fatal(err)
		}
	}
}

func grant(t *testing.T, cli *clientv3.Client) clientv3.LeaseID {
	t.Helper()
	l, err := cli.Grant(context.Background(), 600)
	if err != nil {
		t.Fatal(err)
	}
	return l.ID
}

func exists(t *testing.T, cli *clientv3.Client, id int) bool {
	t.Helper()
	r, err := cli.Get(context.Background(), fmt.Sprintf("%s%d", idPrefix, id), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return r.Count == 1
}

// collector runs a collector named node until the test ends (or stop is called), and returns it.
func collector(t *testing.T, cli *clientv3.Client, node string, interval time.Duration) (*identitygc.Collector, func()) {
	t.Helper()
	c, err := identitygc.New(cli, slog.New(slog.NewTextHandler(io.Discard, nil)), identitygc.Options{
		Interval: interval, Node: node, Timeout: 5 * time.Second, Retry: backoff.New(10*time.Millisecond, 100*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := c.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return c, stop
}

func passes(t *testing.T, c *identitygc.Collector, n uint64) syncreport.IdentityGC {
	t.Helper()
	start := c.State().Passes
	testkit.Eventually(t, 20*time.Second, fmt.Sprintf("%d more passes", n), func() error {
		if s := c.State(); s.Passes < start+n {
			return fmt.Errorf("state %+v", s)
		}
		return nil
	})
	return c.State()
}

// TestUnusedRemovedUsedKept: an identity no slave key names goes after two passes; one whose slave key
// lives (on a node's lease) stays, also when its labels hold path elements ("/../", which Cilium 1.19.3's
// path.Join would have cleaned out of the slave key's prefix); and it goes once its lease is gone.
func TestUnusedRemovedUsedKept(t *testing.T) {
	_, url := etcdtest.Start(t, nil)
	cli := dial(t, url)
	lease := grant(t, cli)
	identity(t, cli, 30000, "container:app=unused;", "", 0)
	identity(t, cli, 30001, "container:app=used;", "node2", lease)
	identity(t, cli, 30002, "container:dir=/srv/../data;", "node2", lease)
	identity(t, cli, 100, "reserved:out-of-range;", "", 0) // below the cluster's range: never touched

	c, _ := collector(t, cli, "node1", 50*time.Millisecond)
	s := passes(t, c, 3)
	if exists(t, cli, 30000) {
		t.Errorf("unused identity 30000 still there after 3 passes: %+v", s)
	}
	for _, id := range []int{30001, 30002, 100} {
		if !exists(t, cli, id) {
			t.Errorf("identity %d removed: %+v", id, s)
		}
	}
	if s.Removed != 1 || !s.Leader || s.Failing || s.LastPass == 0 || s.Alive != 3 {
		t.Errorf("state %+v: want leader, 1 removed, 3 alive (100 too), a last pass, not failing", s)
	}

	// The node's lease is gone (its agent down past the lease's TTL): its identities go.
	if _, err := cli.Revoke(context.Background(), lease); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, "the identities of the revoked lease removed", func() error {
		if exists(t, cli, 30001) || exists(t, cli, 30002) {
			return fmt.Errorf("still there: %+v", c.State())
		}
		if s := c.State(); s.Removed != 3 { // the pass that removed them reports at its end
			return fmt.Errorf("state %+v: want 3 removed", s)
		}
		return nil
	})
	if !exists(t, cli, 100) {
		t.Error("identity 100 (out of the range) removed")
	}
}

// TestOneCollectorActs: of two collectors on one etcd, one is elected and passes, the other passes
// nothing; when the first stops, the second is elected and passes.
func TestOneCollectorActs(t *testing.T) {
	_, url := etcdtest.Start(t, nil)
	a, stopA := collector(t, dial(t, url), "node1", 20*time.Millisecond)
	b, stopB := collector(t, dial(t, url), "node2", 20*time.Millisecond)
	var first, second *identitygc.Collector
	var stopFirst func()
	testkit.Eventually(t, 20*time.Second, "one collector elected", func() error {
		switch sa, sb := a.State(), b.State(); {
		case sa.Leader && sb.Leader:
			t.Fatalf("both elected: %+v %+v", sa, sb)
		case sa.Leader:
			first, second, stopFirst = a, b, stopA
		case sb.Leader:
			first, second, stopFirst = b, a, stopB
		default:
			return fmt.Errorf("none elected: %+v %+v", sa, sb)
		}
		return nil
	})
	passes(t, first, 5)
	if s := second.State(); s.Leader || s.Passes != 0 {
		t.Fatalf("the other collector acted while one is elected: %+v", s)
	}
	stopFirst()
	if s := first.State(); s.Leader {
		t.Errorf("the stopped collector still says it leads: %+v", s)
	}
	passes(t, second, 2)
	if s := second.State(); !s.Leader {
		t.Errorf("the remaining collector passes but is not the leader: %+v", s)
	}
}
