package podrange_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/cilium-docker/cilium-docker/podrange"
	"github.com/cilium-docker/cilium-docker/policy/store/etcdtest"
)

// open starts an embedded etcd and returns its client and ranges under the default prefix.
func open(t *testing.T) (*clientv3.Client, *podrange.Ranges) {
	t.Helper()
	_, url := etcdtest.Start(t, nil)
	return dial(t, url, 5*time.Second)
}

func dial(t *testing.T, url string, timeout time.Duration) (*clientv3.Client, *podrange.Ranges) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: timeout, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	r, err := podrange.New(cli, "", timeout)
	if err != nil {
		t.Fatal(err)
	}
	return cli, r
}

func setPool(t *testing.T, r *podrange.Ranges, p podrange.Pool) {
	t.Helper()
	if _, err := r.SetPool(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func pool4(cidr string, perNode int) podrange.Pool {
	return podrange.Pool{IPv4: netip.MustParsePrefix(cidr), IPv4PerNode: perNode}
}

// TestClaimConcurrent: 20 nodes claim at once, each from its own client (as 20 hosts would); every range
// is distinct and inside the pool, and a node that claims again (a restart) gets its range back.
func TestClaimConcurrent(t *testing.T) {
	_, url := etcdtest.Start(t, nil)
	_, admin := dial(t, url, 5*time.Second)
	p := podrange.Pool{IPv4: netip.MustParsePrefix("10.64.0.0/10"), IPv4PerNode: 20,
		IPv6: netip.MustParsePrefix("fd00:64::/96"), IPv6PerNode: 112}
	setPool(t, admin, p)
	const nodes = 20
	ranges := make([]*podrange.Ranges, nodes)
	for i := range ranges {
		_, ranges[i] = dial(t, url, 5*time.Second)
	}
	got := make([]podrange.Claim, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range nodes {
		wg.Go(func() {
			<-start
			got[i], errs[i] = ranges[i].Claim(context.Background(), fmt.Sprintf("node%d", i))
		})
	}
	close(start)
	wg.Wait()
	seen := map[netip.Prefix]string{}
	for i, c := range got {
		if errs[i] != nil {
			t.Fatalf("node%d: %v", i, errs[i])
		}
		for _, pr := range c.Prefixes() {
			if other, ok := seen[pr]; ok {
				t.Errorf("node%d and %s both got %s", i, other, pr)
			}
			seen[pr] = c.Node
		}
		if !p.IPv4.Contains(c.IPv4.Addr()) || c.IPv4.Bits() != 20 || !p.IPv6.Contains(c.IPv6.Addr()) || c.IPv6.Bits() != 112 {
			t.Errorf("node%d got %s %s: not a per-node prefix of %s", i, c.IPv4, c.IPv6, p)
		}
	}
	if len(seen) != 2*nodes {
		t.Fatalf("%d distinct ranges, want %d", len(seen), 2*nodes)
	}
	// A restart: the same range, whichever client asks.
	again, err := admin.Claim(context.Background(), "node7")
	if err != nil {
		t.Fatal(err)
	}
	if again.IPv4 != got[7].IPv4 || again.IPv6 != got[7].IPv6 || again.Revision != got[7].Revision {
		t.Fatalf("node7 claimed again: %+v, first %+v", again, got[7])
	}
	_, list, err := admin.List(context.Background())
	if err != nil || len(list) != nodes {
		t.Fatalf("List: %d claims, %v", len(list), err)
	}
}

// TestPoolFull: a claim past the last range is refused with an error naming the pool and how many
// nodes hold it, and changes nothing.
func TestPoolFull(t *testing.T) {
	cli, r := open(t)
	ctx := context.Background()
	setPool(t, r, pool4("10.0.0.0/22", 24)) // four nodes
	for i := range 4 {
		if _, err := r.Claim(ctx, fmt.Sprintf("n%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	before, err := cli.Get(ctx, podrange.DefaultPrefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Claim(ctx, "n4")
	if !errors.Is(err, podrange.ErrPoolFull) {
		t.Fatalf("fifth claim of a four-node pool: %v, want ErrPoolFull", err)
	}
	for _, want := range []string{"10.0.0.0/22", "/24", "held by 4 nodes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	after, err := cli.Get(ctx, podrange.DefaultPrefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if after.Header.Revision != before.Header.Revision || len(after.Kvs) != len(before.Kvs) {
		t.Fatalf("a refused claim changed etcd: revision %d → %d, %d → %d keys", before.Header.Revision,
			after.Header.Revision, len(before.Kvs), len(after.Kvs))
	}
	// A freed range is handed out again.
	if _, _, err := r.Remove(ctx, "n2", false); err != nil {
		t.Fatal(err)
	}
	c, err := r.Claim(ctx, "n4")
	if err != nil || c.IPv4.String() != "10.0.2.0/24" {
		t.Fatalf("claim after a remove: %+v %v, want n2's old 10.0.2.0/24", c, err)
	}
}

// TestClaimStatic: a hand-set range (POD_RANGE) is recorded, kept out of the pool's hands, idempotent,
// and refused when it overlaps another node's claim.
func TestClaimStatic(t *testing.T) {
	_, r := open(t)
	ctx := context.Background()
	if _, err := r.Claim(ctx, "n0"); !errors.Is(err, podrange.ErrNoPool) {
		t.Fatalf("claim without a pool: %v, want ErrNoPool", err)
	}
	// Without a pool, a hand-set range works: today's stack.
	hand := netip.MustParsePrefix("10.0.0.0/24")
	c, err := r.ClaimStatic(ctx, "hand", hand)
	if err != nil || c.IPv4 != hand || !c.Static {
		t.Fatalf("ClaimStatic: %+v %v", c, err)
	}
	again, err := r.ClaimStatic(ctx, "hand", hand)
	if err != nil || again.Revision != c.Revision {
		t.Fatalf("ClaimStatic again: %+v %v, want the same claim (revision %d)", again, err, c.Revision)
	}
	// Claim returns a node's hand-set range too (a node that restarts with POD_RANGE still set).
	if got, err := r.Claim(ctx, "hand"); err != nil || got.IPv4 != hand {
		t.Fatalf("Claim of a hand-set node: %+v %v", got, err)
	}
	setPool(t, r, pool4("10.0.0.0/22", 24))
	c1, err := r.Claim(ctx, "n1")
	if err != nil || c1.IPv4.String() != "10.0.1.0/24" {
		t.Fatalf("pool claim beside a hand-set range: %+v %v, want 10.0.1.0/24", c1, err)
	}
	for _, tc := range []struct {
		node, cidr, want string
		err              error
	}{
		{"x", "10.0.1.128/25", `node "n1" holds 10.0.1.0/24`, podrange.ErrOverlap},
		{"x", "10.0.0.0/16", `node "hand" holds 10.0.0.0/24`, podrange.ErrOverlap},
		{"hand", "10.0.3.0/24", "the node holds 10.0.0.0/24", podrange.ErrConflict},
	} {
		_, err := r.ClaimStatic(ctx, tc.node, netip.MustParsePrefix(tc.cidr))
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ClaimStatic(%s, %s) = %v, want %v saying %q", tc.node, tc.cidr, err, tc.err, tc.want)
		}
	}
	if _, err := r.ClaimStatic(ctx, "y", netip.MustParsePrefix("10.0.0.1/24")); err == nil {
		t.Error("ClaimStatic of a host address: no error")
	}
	// A hand-set range outside the pool, with IPv6.
	v6 := netip.MustParsePrefix("fd00:1::/112")
	if c, err := r.ClaimStatic(ctx, "z", netip.MustParsePrefix("192.168.0.0/24"), v6); err != nil || c.IPv6 != v6 {
		t.Fatalf("ClaimStatic with IPv6: %+v %v", c, err)
	}
}

// TestClaimAddsIPv6: a node that claimed before the pool had IPv6 keeps its IPv4 range and gets an IPv6
// one at its next claim; hand-set nodes and the pool's count in a full error stay as they are.
func TestClaimAddsIPv6(t *testing.T) {
	_, r := open(t)
	ctx := context.Background()
	setPool(t, r, pool4("10.0.0.0/23", 24))
	c, err := r.Claim(ctx, "n0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ClaimStatic(ctx, "hand", netip.MustParsePrefix("192.168.0.0/24")); err != nil {
		t.Fatal(err)
	}
	p := pool4("10.0.0.0/23", 24)
	p.IPv6, p.IPv6PerNode = netip.MustParsePrefix("fd00::/111"), 112 // two IPv6 ranges
	setPool(t, r, p)
	again, err := r.Claim(ctx, "n0")
	if err != nil || again.IPv4 != c.IPv4 || again.IPv6.String() != "fd00::/112" {
		t.Fatalf("n0 after IPv6 was added: %+v %v, want %s and fd00::/112", again, err, c.IPv4)
	}
	if h, err := r.Claim(ctx, "hand"); err != nil || h.IPv6.IsValid() {
		t.Fatalf("hand-set node after IPv6 was added: %+v %v, want it unchanged", h, err)
	}
	if _, err := r.Claim(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Claim(ctx, "n2"); !errors.Is(err, podrange.ErrPoolFull) || !strings.Contains(err.Error(), "held by 2 nodes") {
		t.Fatalf("third claim of a two-node pool: %v, want ErrPoolFull held by 2 nodes (not counting the hand-set one)", err)
	}
}

// TestSetPool: setting the same pool changes nothing; another one is refused while a pool claim would
// not fit it.
func TestSetPool(t *testing.T) {
	_, r := open(t)
	ctx := context.Background()
	p := pool4("10.64.0.0/10", 20)
	if changed, err := r.SetPool(ctx, p); err != nil || !changed {
		t.Fatalf("SetPool: %v %v", changed, err)
	}
	if changed, err := r.SetPool(ctx, p); err != nil || changed {
		t.Fatalf("SetPool again: changed %v, %v; want no change", changed, err)
	}
	if _, err := r.Claim(ctx, "n0"); err != nil { // 10.64.0.0/20
		t.Fatal(err)
	}
	if _, err := r.ClaimStatic(ctx, "hand", netip.MustParsePrefix("192.168.0.0/24")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetPool(ctx, pool4("10.128.0.0/10", 20)); !errors.Is(err, podrange.ErrConflict) ||
		!strings.Contains(err.Error(), `"n0" holds 10.64.0.0/20`) {
		t.Fatalf("SetPool stranding n0: %v, want ErrConflict naming it", err)
	}
	// A wider pool that still holds every pool claim (the hand-set one need not fit).
	if _, err := r.SetPool(ctx, pool4("10.0.0.0/8", 20)); err != nil {
		t.Fatal(err)
	}
	got, err := r.GetPool(ctx)
	if err != nil || got.IPv4.String() != "10.0.0.0/8" {
		t.Fatalf("GetPool: %+v %v", got, err)
	}
	for _, bad := range []podrange.Pool{pool4("10.0.0.0/24", 20), pool4("10.0.0.1/8", 20), {IPv4: netip.MustParsePrefix("fd00::/8"), IPv4PerNode: 112}} {
		if _, err := r.SetPool(ctx, bad); err == nil {
			t.Errorf("SetPool(%s): no error", bad)
		}
	}
}

// TestRemove: a node whose range holds an endpoint IP in Cilium's kvstore keys is not removed unless
// forced.
func TestRemove(t *testing.T) {
	cli, r := open(t)
	ctx := context.Background()
	setPool(t, r, pool4("10.0.0.0/22", 24))
	c, err := r.Claim(ctx, "n0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Claim(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	// What a cilium-agent writes for an endpoint (pkg/ipcache/kvstore.go): n0's, and one of n1's range.
	for _, ip := range []string{"10.0.0.17", "10.0.1.5"} {
		v := fmt.Sprintf(`{"IP":%q,"Mask":null,"HostIP":"192.168.77.2","ID":12345,"Key":0,"Metadata":"cilium-global:default:node1:42"}`, ip)
		if _, err := cli.Put(ctx, podrange.CiliumIPPrefix+ip, v); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := r.Endpoints(ctx, c); err != nil || len(n) != 1 || n[0] != 1 {
		t.Fatalf("Endpoints of n0: %v %v, want [1]", n, err)
	}
	_, n, err := r.Remove(ctx, "n0", false)
	if !errors.Is(err, podrange.ErrInUse) || n != 1 || !strings.Contains(err.Error(), "1 endpoints in 10.0.0.0/24") {
		t.Fatalf("Remove with an endpoint: %d, %v; want ErrInUse", n, err)
	}
	if _, list, _ := r.List(ctx); len(list) != 2 {
		t.Fatalf("a refused remove removed: %+v", list)
	}
	if _, n, err := r.Remove(ctx, "n0", true); err != nil || n != 1 {
		t.Fatalf("Remove --force: %d %v", n, err)
	}
	if _, _, err := r.Remove(ctx, "n0", false); !errors.Is(err, podrange.ErrNotFound) {
		t.Fatalf("Remove of a gone node: %v, want ErrNotFound", err)
	}
	if _, list, _ := r.List(ctx); len(list) != 1 || list[0].Node != "n1" {
		t.Fatalf("after remove: %+v", list)
	}
	// n1's endpoint is gone, but its agent is registered (pkg/node/store: the node's key, on the agent's
	// lease): a live node keeps its range. Another node's or cluster's key does not count.
	if _, err := cli.Delete(ctx, podrange.CiliumIPPrefix+"10.0.1.5"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"default/n1", "other/n1x", "n10"} {
		if _, err := cli.Put(ctx, podrange.CiliumNodePrefix+k, `{"Name":"x"}`); err != nil {
			t.Fatal(err)
		}
	}
	if _, n, err := r.Remove(ctx, "n1", false); !errors.Is(err, podrange.ErrInUse) || n != 0 || !strings.Contains(err.Error(), "registered") {
		t.Fatalf("Remove of a registered node: %d, %v; want ErrInUse", n, err)
	}
	if _, list, _ := r.List(ctx); len(list) != 1 {
		t.Fatalf("a refused remove removed: %+v", list)
	}
	if _, err := cli.Delete(ctx, podrange.CiliumNodePrefix+"default/n1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Remove(ctx, "n1", false); err != nil {
		t.Fatalf("Remove of a node whose agent is gone: %v", err)
	}
	if _, list, _ := r.List(ctx); len(list) != 0 {
		t.Fatalf("after remove: %+v", list)
	}
}

// frozen is an address that accepts connections and never answers: an etcd that hangs.
func frozen(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return "http://" + l.Addr().String()
}

// TestDeadline: every call ends within its deadline when etcd hangs (accepts, never answers) or is not
// there.
func TestDeadline(t *testing.T) {
	ctx := context.Background()
	deadURL := etcdtest.FreeURL(t)
	for name, url := range map[string]string{"frozen": frozen(t), "absent": deadURL.String()} {
		_, rr := dial(t, url, 500*time.Millisecond)
		for op, call := range map[string]func() error{
			"claim":  func() error { _, err := rr.Claim(ctx, "n0"); return err },
			"static": func() error { _, err := rr.ClaimStatic(ctx, "n0", netip.MustParsePrefix("10.9.0.0/24")); return err },
			"list":   func() error { _, _, err := rr.List(ctx); return err },
			"remove": func() error { _, _, err := rr.Remove(ctx, "n0", true); return err },
			"pool":   func() error { _, err := rr.SetPool(ctx, pool4("10.0.0.0/8", 20)); return err },
		} {
			start := time.Now()
			err := call()
			if err == nil {
				t.Errorf("%s etcd, %s: no error", name, op)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s etcd, %s: took %s with a 500ms deadline", name, op, d)
			}
		}
	}
}

// TestEnsurePool: nodes that start at once with the same pool set it exactly once; a node with another
// pool is refused and the cluster's pool stays.
func TestEnsurePool(t *testing.T) {
	_, url := etcdtest.Start(t, nil)
	ctx := context.Background()
	p := pool4("10.64.0.0/10", 20)
	var wg sync.WaitGroup
	sets := make([]bool, 5)
	errs := make([]error, len(sets))
	for i := range sets {
		_, r := dial(t, url, 5*time.Second)
		wg.Go(func() { sets[i], errs[i] = r.EnsurePool(ctx, p) })
	}
	wg.Wait()
	n := 0
	for i := range sets {
		if errs[i] != nil {
			t.Fatalf("EnsurePool %d: %v", i, errs[i])
		}
		if sets[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("EnsurePool set the pool %d times, want 1", n)
	}
	_, r := dial(t, url, 5*time.Second)
	if _, err := r.EnsurePool(ctx, pool4("10.128.0.0/10", 20)); !errors.Is(err, podrange.ErrConflict) ||
		!strings.Contains(err.Error(), "the cluster's pool is 10.64.0.0/10") {
		t.Fatalf("EnsurePool with another pool: %v, want ErrConflict naming the cluster's", err)
	}
	if got, err := r.GetPool(ctx); err != nil || got != p {
		t.Fatalf("GetPool: %+v %v, want %+v", got, err, p)
	}
	if _, err := r.EnsurePool(ctx, pool4("10.0.0.1/8", 20)); err == nil {
		t.Fatal("EnsurePool(10.0.0.1/8): no error")
	}
}
