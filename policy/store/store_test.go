package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/policy/store"
	"github.com/cilium-docker/cilium-docker/policy/store/etcdtest"
)

// etcd starts an embedded etcd server and returns its client URL.
func etcd(t *testing.T) string {
	t.Helper()
	_, u := etcdtest.Start(t, nil)
	return u
}

// TestStore: the store's calls, the first endpoint unreachable.
func TestStore(t *testing.T) {
	dead := etcdtest.FreeURL(t) // nothing listens there
	s, err := store.Open(store.Config{Endpoints: []string{dead.String(), etcd(t)}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	r1, err := s.Put(ctx, "a", "doc a")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.Put(ctx, "ns/b", "doc b")
	if err != nil || r2 <= r1 {
		t.Fatalf("second put: revision %d after %d, %v", r2, r1, err)
	}
	pols, rev, err := s.List(ctx)
	if err != nil || rev != r2 || len(pols) != 2 || pols[0] != (store.Policy{Key: "a", YAML: "doc a", Revision: r1}) ||
		pols[1].Key != "ns/b" {
		t.Fatalf("List: %+v at %d, %v", pols, rev, err)
	}
	if p, err := s.Get(ctx, "ns/b"); err != nil || p.YAML != "doc b" || p.Revision != r2 {
		t.Fatalf("Get: %+v, %v", p, err)
	}
	if _, err := s.Get(ctx, "c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}
	if err := s.PutStatus(ctx, store.NodeStatus{Node: "n1", Revision: r2, Applied: map[string]int64{"a": r1}}); err != nil {
		t.Fatal(err)
	}
	if sts, err := s.Statuses(ctx); err != nil || len(sts) != 1 || sts[0].Applied["a"] != r1 {
		t.Fatalf("Statuses: %+v, %v", sts, err)
	}

	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	changes := make(chan store.Change, 10)
	done := make(chan error, 1)
	go func() { done <- s.Watch(wctx, r1, changes) }()
	if c := <-changes; c != (store.Change{Key: "ns/b", YAML: "doc b", Revision: r2}) {
		t.Fatalf("first change after %d: %+v", r1, c)
	}
	found, r3, err := s.Delete(ctx, "a")
	if err != nil || !found {
		t.Fatalf("Delete: %v %v", found, err)
	}
	if c := <-changes; c != (store.Change{Key: "a", Delete: true, Revision: r3}) {
		t.Fatalf("delete change: %+v", c)
	}
	if found, _, err := s.Delete(ctx, "a"); err != nil || found {
		t.Fatalf("second Delete: found %v, %v", found, err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch after cancel: %v", err)
	}
}

func TestStoreUnreachable(t *testing.T) {
	dead := etcdtest.FreeURL(t)
	s, err := store.Open(store.Config{Endpoints: []string{dead.String()}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, _, err := s.List(context.Background()); err == nil {
		t.Fatal("List with etcd away: no error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("List took %s", d)
	}
	if _, err := store.Open(store.Config{Endpoints: []string{"https://x:2379"}, CAFile: filepath.Join(t.TempDir(), "none"),
		Timeout: time.Second}); err == nil {
		t.Fatal("Open with a missing CA file: no error")
	}
}
