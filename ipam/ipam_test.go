package ipam_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/ipam"
)

// The IPAM core runs on the real agent client, plain or cached.
var (
	_ ipam.Agent = (*agent.Client)(nil)
	_ ipam.Agent = (*agent.Cached)(nil)
)

var (
	agentRange = netip.MustParsePrefix("10.77.0.0/16")
	router     = netip.MustParseAddr("10.77.18.133")
)

// newCore returns an IPAM core that talks to a over the real agent client.
func newCore(t *testing.T, a *agenttest.Agent, call time.Duration) (*ipam.Core, *ipam.Book) {
	t.Helper()
	return newCoreTracked(t, a, call, noTracker{})
}

// newCoreTracked is newCore recording the addresses its handlers work on in tr.
func newCoreTracked(t *testing.T, a *agenttest.Agent, call time.Duration, tr ipam.Tracker) (*ipam.Core, *ipam.Book) {
	t.Helper()
	c, err := agent.New(a.Addr(), agent.Timeouts{Call: call})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	b := ipam.NewBook()
	return ipam.New(ipam.Deps{Agent: c, Book: b, Tracker: tr}), b
}

// noTracker is the Tracker of a core whose tests read no in-flight set.
type noTracker struct{}

func (noTracker) Address(netip.Addr) func() { return func() {} }

func TestRequestPool(t *testing.T) {
	tests := []struct {
		name      string
		fam       agent.IPFamily
		pool, sub string
		wantPool  ipam.Pool
		wantErr   string
	}{
		// Without --subnet the pool is all-zero: Docker skips its overlap check with host routes
		// (the agent routes its range in the node) only for that pool.
		{name: "no subnet", wantPool: ipam.Pool{ID: ipam.PoolV4, Prefix: netip.MustParsePrefix("0.0.0.0/0"),
			Gateway: netip.MustParsePrefix("10.77.18.133/32")}},
		{name: "subnet equal to the range", pool: "10.77.0.0/16", wantPool: ipam.Pool{ID: ipam.PoolV4,
			Prefix: agentRange, Gateway: netip.MustParsePrefix("10.77.18.133/16")}},
		{name: "subnet covering the range", pool: "10.0.0.0/8", wantPool: ipam.Pool{ID: ipam.PoolV4,
			Prefix: netip.MustParsePrefix("10.0.0.0/8"), Gateway: netip.MustParsePrefix("10.77.18.133/8")}},
		{name: "subnet with host bits", pool: "10.1.2.3/8", wantPool: ipam.Pool{ID: ipam.PoolV4,
			Prefix: netip.MustParsePrefix("10.0.0.0/8"), Gateway: netip.MustParsePrefix("10.77.18.133/8")}},
		{name: "subnet inside the range", pool: "10.77.1.0/24", wantErr: "does not cover cilium-agent's node range 10.77.0.0/16"},
		{name: "subnet elsewhere", pool: "192.168.0.0/16", wantErr: "does not cover"},
		{name: "bad subnet", pool: "10.77.0.0/33", wantErr: `subnet "10.77.0.0/33"`},
		{name: "ip-range", pool: "10.77.0.0/16", sub: "10.77.1.0/24", wantErr: "--ip-range"},
		{name: "IPv6 on an IPv4-only agent", fam: agent.IPv6, wantErr: "IPv6"},
	}
	a := agenttest.New(t)
	c, _ := newCore(t, a, 5*time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.RequestPool(context.Background(), tt.fam, tt.pool, tt.sub)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("RequestPool: got %+v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("RequestPool: %v", err)
			}
			if got != tt.wantPool {
				t.Errorf("RequestPool: got %+v, want %+v", got, tt.wantPool)
			}
		})
	}
	if n := len(a.RequestsTo(agenttest.RouteAllocate)) + len(a.RequestsTo(agenttest.RouteClaim)); n != 0 {
		t.Errorf("pool requests allocated addresses: %d IPAM calls, want 0", n)
	}
}

func TestRequestPoolIPv6(t *testing.T) {
	v6Range, v6Router := netip.MustParsePrefix("fd00:77::/96"), netip.MustParseAddr("fd00:77::1")
	tests := []struct {
		name     string
		v4       bool // the agent has IPv4 enabled
		pool     string
		wantPool ipam.Pool
		wantErr  string
	}{
		// Not ::/0, which makes Docker >= 27 (and 20.10) ask again forever when resolv.conf names an IPv6
		// nameserver: the agent's range, a real prefix no nameserver of the node lies in.
		{name: "no subnet", v4: true, wantPool: ipam.Pool{ID: ipam.PoolV6, Prefix: v6Range, Gateway: netip.MustParsePrefix("fd00:77::1/96")}},
		{name: "subnet covering the range", v4: true, pool: "fd00:77::/64",
			wantPool: ipam.Pool{ID: ipam.PoolV6, Prefix: netip.MustParsePrefix("fd00:77::/64"), Gateway: netip.MustParsePrefix("fd00:77::1/64")}},
		{name: "subnet inside the range", v4: true, pool: "fd00:77::/112", wantErr: "does not cover cilium-agent's node range fd00:77::/96"},
		// An IPv6-only network (Docker 28+ --ipv4=false) asks for the IPv6 pool alone; an agent without
		// IPv4 serves it as well.
		{name: "IPv6-only agent", v4: false, wantPool: ipam.Pool{ID: ipam.PoolV6, Prefix: v6Range, Gateway: netip.MustParsePrefix("fd00:77::1/96")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agenttest.New(t)
			cfg := agenttest.DefaultConfig()
			cfg.IPv6Range, cfg.IPv6Router = v6Range, v6Router
			if !tt.v4 {
				cfg.IPv4Range, cfg.IPv4Router = netip.Prefix{}, netip.Addr{}
			}
			a.SetConfig(cfg)
			c, _ := newCore(t, a, 5*time.Second)
			got, err := c.RequestPool(context.Background(), agent.IPv6, tt.pool, "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("RequestPool(v6, %q): got %+v, %v; want an error containing %q", tt.pool, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.wantPool {
				t.Fatalf("RequestPool(v6, %q): got %+v, %v; want %+v", tt.pool, got, err, tt.wantPool)
			}
			if gw, err := c.RequestGateway(context.Background(), ipam.PoolV6, netip.Addr{}); err != nil || gw != netip.PrefixFrom(v6Router, 128) {
				t.Errorf("RequestGateway(v6): got %v, %v; want the router %s/128", gw, err, v6Router)
			}
			p, err := c.RequestAddress(context.Background(), ipam.PoolV6, netip.Addr{})
			if err != nil || !v6Range.Contains(p.Addr()) || p.Bits() != 128 || p.Addr() == v6Router {
				t.Errorf("RequestAddress(v6): got %v, %v; want a /128 in %s other than the router", p, err, v6Range)
			}
			if !tt.v4 {
				if _, err := c.RequestPool(context.Background(), agent.IPv4, "", ""); err == nil || !strings.Contains(err.Error(), "IPv4 disabled") {
					t.Errorf("RequestPool(v4) on an IPv6-only agent: got %v, want an error saying IPv4 is disabled", err)
				}
			}
		})
	}
}

func TestRequestAddress(t *testing.T) {
	a := agenttest.New(t)
	c, book := newCore(t, a, 5*time.Second)
	ctx := context.Background()
	p, err := c.RequestAddress(ctx, ipam.PoolV4, netip.Addr{})
	if err != nil {
		t.Fatalf("RequestAddress: %v", err)
	}
	if !agentRange.Contains(p.Addr()) || p.Bits() != 32 {
		t.Errorf("RequestAddress: got %v, want a /32 in %s", p, agentRange)
	}
	reqs := a.RequestsTo(agenttest.RouteAllocate)
	if len(reqs) != 1 {
		t.Fatalf("allocate requests: got %d, want 1", len(reqs))
	}
	r := reqs[0]
	if got := r.Header.Get("expiration"); got != "true" {
		t.Errorf("expiration header: got %q, want true", got)
	}
	if got := r.Query.Get("owner"); got != "cilium-docker" {
		t.Errorf("owner: got %q, want cilium-docker", got)
	}
	if got := r.Query.Get("family"); got != "ipv4" {
		t.Errorf("family: got %q, want ipv4", got)
	}
	if got := a.Allocated()[p.Addr()]; got != "cilium-docker" {
		t.Errorf("agent owner of %s: got %q, want cilium-docker", p.Addr(), got)
	}
	if got, want := book.ExpirationUUID(p.Addr()), a.Expiring()[p.Addr()]; got == "" || got != want {
		t.Errorf("book expiration UUID: got %q, want the agent's %q", got, want)
	}
}

func TestRequestSpecificAddress(t *testing.T) {
	a := agenttest.New(t)
	c, book := newCore(t, a, 5*time.Second)
	ctx := context.Background()
	want := netip.MustParseAddr("10.77.3.3")
	p, err := c.RequestAddress(ctx, ipam.PoolV4, want)
	if err != nil || p != netip.PrefixFrom(want, 32) {
		t.Fatalf("RequestAddress(%s): got %v, %v; want %s/32", want, p, err, want)
	}
	claims := a.RequestsTo(agenttest.RouteClaim)
	if len(claims) != 1 || claims[0].Path != "/v1/ipam/10.77.3.3" || claims[0].Query.Get("owner") != "cilium-docker" ||
		claims[0].Query.Get("pool") != "default" {
		t.Errorf("claim requests: got %+v, want one POST /v1/ipam/10.77.3.3?owner=cilium-docker&pool=default", claims)
	}
	if n := len(a.RequestsTo(agenttest.RouteAllocate)); n != 0 {
		t.Errorf("a specific address was auto-allocated: %d allocate calls", n)
	}
	if uuid := book.ExpirationUUID(want); uuid != "" {
		t.Errorf("claimed address has expiration UUID %q, want none", uuid)
	}
	for _, tt := range []struct {
		name    string
		ip      string
		wantErr string
	}{
		{"second claim", "10.77.3.3", "address 10.77.3.3 is already in use"},
		{"outside the range", "10.78.0.1", "outside cilium-agent's node range"},
		{"router", "10.77.18.133", "router address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.RequestAddress(ctx, ipam.PoolV4, netip.MustParseAddr(tt.ip))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("RequestAddress(%s): got %v, want an error containing %q", tt.ip, err, tt.wantErr)
			}
		})
	}
	if _, err := c.RequestAddress(ctx, "other-pool", netip.Addr{}); err == nil || !strings.Contains(err.Error(), "unknown pool") {
		t.Errorf("RequestAddress(unknown pool): got %v, want unknown pool", err)
	}
}

func TestRequestGateway(t *testing.T) {
	a := agenttest.New(t)
	c, _ := newCore(t, a, 5*time.Second)
	for _, want := range []netip.Addr{{}, router} {
		p, err := c.RequestGateway(context.Background(), ipam.PoolV4, want)
		if err != nil || p != netip.PrefixFrom(router, 32) {
			t.Errorf("gateway request (address %v): got %v, %v; want %s/32", want, p, err, router)
		}
	}
	if _, err := c.RequestGateway(context.Background(), ipam.PoolV4, netip.MustParseAddr("10.77.0.1")); err == nil {
		t.Error("gateway request for another address: got success, want an error")
	}
	if n := len(a.RequestsTo(agenttest.RouteAllocate)) + len(a.RequestsTo(agenttest.RouteClaim)); n != 0 || len(a.Allocated()) != 0 {
		t.Errorf("gateway requests allocated: %d IPAM calls, allocations %v; want none", n, a.Allocated())
	}
}

func TestAgentDown(t *testing.T) {
	a := agenttest.NewStopped(t)
	c, _ := newCore(t, a, 5*time.Second)
	ctx := context.Background()
	start := time.Now()
	_, err := c.RequestPool(ctx, agent.IPv4, "", "")
	if err == nil || !strings.Contains(err.Error(), "cilium-agent not reachable at "+a.Addr()) {
		t.Errorf("RequestPool with the agent down: got %v, want cilium-agent not reachable at %s", err, a.Addr())
	}
	if _, err := c.RequestAddress(ctx, ipam.PoolV4, netip.Addr{}); err == nil || !strings.Contains(err.Error(), "cilium-agent not reachable at") {
		t.Errorf("RequestAddress with the agent down: got %v, want cilium-agent not reachable at", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failing with the agent down took %v, want it fast", d)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RequestPool(ctx, agent.IPv4, "", ""); err != nil {
		t.Errorf("RequestPool once the agent is up: %v", err)
	}
}

func TestAgentHangs(t *testing.T) {
	const deadline = 200 * time.Millisecond
	for _, route := range []string{agenttest.RouteConfig, agenttest.RouteAllocate} {
		t.Run(route, func(t *testing.T) {
			a := agenttest.New(t)
			c, _ := newCore(t, a, deadline)
			a.SetFault(route, agenttest.Fault{Hang: true})
			start := time.Now()
			_, err := c.RequestAddress(context.Background(), ipam.PoolV4, netip.Addr{})
			d := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "did not answer") {
				t.Errorf("RequestAddress on a hanging agent: got %v, want a deadline error", err)
			}
			if d > deadline+time.Second {
				t.Errorf("RequestAddress on a hanging agent took %v, want about %v", d, deadline)
			}
		})
	}
}
