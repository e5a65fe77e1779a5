package dirsync_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/embed"

	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
	"github.com/cilium-docker/cilium-docker/policy"
	"github.com/cilium-docker/cilium-docker/policy/dirsync"
	"github.com/cilium-docker/cilium-docker/policy/store"
	"github.com/cilium-docker/cilium-docker/policy/store/etcdtest"
)

// parser checks in this process, with Cilium's parser (the daemon runs it in cilium-docker-policy).
func parser() dirsync.Checker { return dirsync.InProcess(policy.CheckStored) }

// etcd starts an embedded etcd server and returns a store on it.
func etcd(t *testing.T) (*store.Store, *embed.Etcd) {
	t.Helper()
	e, u := etcdtest.Start(t, nil)
	s, err := store.Open(store.Config{Endpoints: []string{u}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, e
}

func doc(name, peer string) string {
	return fmt.Sprintf(`apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: %s}
spec:
  endpointSelector: {matchLabels: {name: %s}}
  ingress: [{fromEndpoints: [{matchLabels: {name: %s}}]}]
`, name, name, peer)
}

func files(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return strings.Join(n, " ")
}

func quiet() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

func TestSyncEtcd(t *testing.T) {
	kv, _ := etcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	foreign := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(foreign, []byte(doc("mine", "x")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "app2", doc("app2", "app1")); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "bad", "apiVersion: cilium.io/v2\nkind: [unclosed\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "wrongname", doc("other", "x")); err != nil {
		t.Fatal(err)
	}
	s := dirsync.New(quiet(), kv, parser(), dir, dirsync.Options{Node: "n1", Cluster: func(context.Context) string { return "local" }})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	want := "cilium-docker.ccnp.app2.yaml mine.yaml"
	testkit.Eventually(t, 10*time.Second, "app2 written, bad documents not", func() error {
		if got := files(t, dir); got != want {
			return fmt.Errorf("files %q, want %q", got, want)
		}
		return nil
	})
	testkit.Eventually(t, 10*time.Second, "the node's status", func() error {
		sts, err := kv.Statuses(ctx)
		if err != nil || len(sts) != 1 {
			return fmt.Errorf("statuses %+v: %w", sts, err)
		}
		st := sts[0]
		if st.Node != "n1" || st.Applied["app2"] == 0 || !strings.Contains(st.Errors["bad"], "YAML document 1") ||
			!strings.Contains(st.Errors["wrongname"], "stored under") {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})

	// A change arrives through the watch; a bad revision of a good policy keeps the good one in force.
	rev, err := kv.Put(ctx, "app3", doc("app3", "app1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "app2", "kind: CiliumClusterwideNetworkPolicy\nmetadata: {name: app2}\nspec: {}\n"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "app3 written", func() error {
		if got := files(t, dir); got != "cilium-docker.ccnp.app2.yaml cilium-docker.ccnp.app3.yaml mine.yaml" {
			return fmt.Errorf("files %q", got)
		}
		return nil
	})
	testkit.Eventually(t, 10*time.Second, "app2's bad revision reported", func() error {
		sts, _ := kv.Statuses(ctx)
		if len(sts) != 1 || sts[0].Applied["app3"] != rev || !strings.Contains(sts[0].Errors["app2"], "not applied") || sts[0].Applied["app2"] == 0 {
			return fmt.Errorf("status %+v", sts)
		}
		return nil
	})
	b, err := os.ReadFile(filepath.Join(dir, "cilium-docker.ccnp.app2.yaml"))
	if err != nil || string(b) != doc("app2", "app1") {
		t.Fatalf("app2's file: %q %v, want its last good revision", b, err)
	}

	// Deleted keys lose their files; the foreign file stays.
	for _, k := range []string{"app2", "app3"} {
		if _, _, err := kv.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 10*time.Second, "files of deleted policies removed", func() error {
		if got := files(t, dir); got != "mine.yaml" {
			return fmt.Errorf("files %q", got)
		}
		return nil
	})
}

// recordingChecker is the parser, recording the keys of each call, failing as a whole while fail is set.
type recordingChecker struct {
	mu    sync.Mutex
	calls [][]string // guarded by mu
	fail  bool       // guarded by mu
}

func (c *recordingChecker) Check(ctx context.Context, cluster string, docs []dirsync.Document) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	for _, d := range docs {
		keys = append(keys, d.Key)
	}
	slices.Sort(keys)
	c.calls = append(c.calls, keys)
	if c.fail {
		return nil, errors.New("policy check: cilium-docker-policy check-stored: signal: killed")
	}
	return parser().Check(ctx, cluster, docs)
}

func (c *recordingChecker) set(fail bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = fail
}

func (c *recordingChecker) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.calls)
}

// TestSyncChecksOnlyChanges: each document is checked once per text (one call for a burst), not on
// every pass; a failed check keeps the last good revision in force and is retried.
func TestSyncChecksOnlyChanges(t *testing.T) {
	kv, _ := etcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	for _, k := range []string{"a", "b"} {
		if _, err := kv.Put(ctx, k, doc(k, "x")); err != nil {
			t.Fatal(err)
		}
	}
	chk := &recordingChecker{}
	var reported atomic.Pointer[syncreport.Stats]
	s := dirsync.New(quiet(), kv, chk, dir, dirsync.Options{Node: "n1", MaxBackoff: 20 * time.Millisecond,
		Report: func(st syncreport.Stats) { reported.Store(&st) }})
	last := func() syncreport.Stats {
		if p := reported.Load(); p != nil {
			return *p
		}
		return syncreport.Stats{}
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	testkit.Eventually(t, 10*time.Second, "a and b written", func() error {
		if got := files(t, dir); got != "cilium-docker.ccnp.a.yaml cilium-docker.ccnp.b.yaml" {
			return fmt.Errorf("files %q", got)
		}
		return nil
	})
	if _, err := kv.Put(ctx, "c", doc("c", "x")); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "c checked alone", func() error {
		if got := chk.log(); got != "[[a b] [c]]" {
			return fmt.Errorf("check calls %s", got)
		}
		return nil
	})

	chk.set(true)
	rev, err := kv.Put(ctx, "a", doc("a", "z"))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "a's new revision reported as not checked", func() error {
		sts, _ := kv.Statuses(ctx)
		if len(sts) != 1 || !strings.Contains(sts[0].Errors["a"], "not checked") || sts[0].Applied["a"] == 0 || sts[0].Applied["a"] == rev {
			return fmt.Errorf("status %+v", sts)
		}
		return nil
	})
	if b, err := os.ReadFile(filepath.Join(dir, "cilium-docker.ccnp.a.yaml")); err != nil || string(b) != doc("a", "x") {
		t.Fatalf("a's file: %q %v, want its last checked revision", b, err)
	}
	testkit.Eventually(t, 10*time.Second, "the failing check reported", func() error {
		if st := last(); !st.Failing || st.Errors == 0 || st.Refused != 1 {
			return fmt.Errorf("reported %+v, want failing, errors, a refused", st)
		}
		return nil
	})
	chk.set(false)
	testkit.Eventually(t, 10*time.Second, "a's new revision applied once the check works", func() error {
		sts, _ := kv.Statuses(ctx)
		if len(sts) != 1 || sts[0].Applied["a"] != rev || sts[0].Errors["a"] != "" {
			return fmt.Errorf("status %+v", sts)
		}
		return nil
	})
	if b, err := os.ReadFile(filepath.Join(dir, "cilium-docker.ccnp.a.yaml")); err != nil || string(b) != doc("a", "z") {
		t.Fatalf("a's file: %q %v, want the new revision", b, err)
	}
	testkit.Eventually(t, 10*time.Second, "the recovery reported", func() error {
		if st := last(); st.Failing || st.Refused != 0 || st.Revision < rev {
			return fmt.Errorf("reported %+v, want not failing, none refused, revision >= %d", st, rev)
		}
		return nil
	})
}

func TestWatchCompacted(t *testing.T) {
	kv, e := etcd(t)
	ctx := context.Background()
	r1, _ := kv.Put(ctx, "a", doc("a", "b"))
	r2, _ := kv.Put(ctx, "a", doc("a", "c"))
	if _, err := e.Server.Compact(ctx, compactReq(r2)); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := kv.Watch(wctx, r1-1, make(chan store.Change, 10))
	if !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("Watch from a compacted revision: got %v, want ErrCompacted", err)
	}
}

// fakeStore fails every List: etcd is away.
type fakeStore struct{}

func (fakeStore) List(context.Context) ([]store.Policy, int64, error) {
	return nil, 0, errors.New("etcd unreachable")
}
func (fakeStore) Watch(context.Context, int64, chan<- store.Change) error { return nil }
func (fakeStore) PutStatus(context.Context, store.NodeStatus) error       { return nil }

func TestSyncEtcdDownKeepsFiles(t *testing.T) {
	dir := t.TempDir()
	d := dirsync.Dir{Path: dir, Owner: dirsync.FromEtcd}
	if err := d.Write("cilium-docker.ccnp.app2.yaml", doc("app2", "app1")); err != nil {
		t.Fatal(err)
	}
	calls := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	s := dirsync.New(quiet(), countingStore{calls}, parser(), dir, dirsync.Options{Node: "n1", MaxBackoff: 10 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for range 3 { // three failed listings
		<-calls
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if got := files(t, dir); got != "cilium-docker.ccnp.app2.yaml" {
		t.Fatalf("files after etcd stayed away: %q, want the policy kept", got)
	}
}

type countingStore struct{ calls chan struct{} }

func (c countingStore) List(ctx context.Context) ([]store.Policy, int64, error) {
	c.calls <- struct{}{}
	return fakeStore{}.List(ctx)
}
func (countingStore) Watch(context.Context, int64, chan<- store.Change) error { return nil }
func (countingStore) PutStatus(context.Context, store.NodeStatus) error       { return nil }

func compactReq(rev int64) *pb.CompactionRequest {
	return &pb.CompactionRequest{Revision: rev, Physical: true}
}

// staticStore lists fixed policies, sends no change, and keeps the last status written.
type staticStore struct {
	pols   []store.Policy
	status atomic.Pointer[store.NodeStatus]
}

func (s *staticStore) List(context.Context) ([]store.Policy, int64, error) {
	return s.pols, 7, nil
}
func (s *staticStore) Watch(ctx context.Context, _ int64, _ chan<- store.Change) error {
	<-ctx.Done()
	return ctx.Err()
}
func (s *staticStore) PutStatus(_ context.Context, st store.NodeStatus) error {
	s.status.Store(&st)
	return nil
}

// TestSyncRefusesDottedNamespace: "x.y/z" and "x/y.z" once shared a file, whatever the checker said;
// the key whose namespace is not a DNS-1123 label is refused (reported and counted), by the sync
// itself, before any file name is made of it.
func TestSyncRefusesDottedNamespace(t *testing.T) {
	cnp := func(ns, name string) string {
		return strings.Replace(strings.Replace(doc(name, "x"), "CiliumClusterwideNetworkPolicy", "CiliumNetworkPolicy", 1),
			"metadata: {name: "+name+"}", "metadata: {name: "+name+", namespace: "+ns+"}", 1)
	}
	fake := &staticStore{pols: []store.Policy{
		{Key: "x.y/z", YAML: cnp("x.y", "z"), Revision: 5},
		{Key: "x/y.z", YAML: cnp("x", "y.z"), Revision: 6},
	}}
	acceptAll := dirsync.InProcess(func(string, string, string) error { return nil }) // only the sync's own guard
	dir := t.TempDir()
	var reported atomic.Pointer[syncreport.Stats]
	s := dirsync.New(quiet(), fake, acceptAll, dir, dirsync.Options{Node: "n1",
		Report: func(st syncreport.Stats) { reported.Store(&st) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	testkit.Eventually(t, 10*time.Second, "x.y/z refused, x/y.z applied", func() error {
		st := fake.status.Load()
		if st == nil || !strings.Contains(st.Errors["x.y/z"], "DNS-1123 label") || st.Applied["x/y.z"] != 6 ||
			st.Errors["x/y.z"] != "" || st.Applied["x.y/z"] != 0 {
			return fmt.Errorf("status %+v", st)
		}
		if r := reported.Load(); r == nil || r.Refused != 1 || r.Revision != 7 {
			return fmt.Errorf("reported %+v, want 1 refused at revision 7", r)
		}
		return nil
	})
	if got := files(t, dir); got != "cilium-docker.cnp-x.y.z.yaml" {
		t.Fatalf("files %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cilium-docker.cnp-x.y.z.yaml")); err != nil || string(b) != cnp("x", "y.z") {
		t.Fatalf("cnp-x.y.z holds %q, %v; want x/y.z's document", b, err)
	}
}

// TestSyncReportsAgentVersion: the node's status carries the agent's version, for `policy list`.
func TestSyncReportsAgentVersion(t *testing.T) {
	fake := &staticStore{pols: []store.Policy{{Key: "a", YAML: doc("a", "b"), Revision: 3}}}
	s := dirsync.New(quiet(), fake, parser(), t.TempDir(), dirsync.Options{Node: "n1", AgentVersion: "1.20.2"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	testkit.Eventually(t, 10*time.Second, "the status with the agent's version", func() error {
		if st := fake.status.Load(); st == nil || st.AgentVersion != "1.20.2" || st.Applied["a"] != 3 {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
}
