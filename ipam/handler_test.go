package ipam_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/ipam"
	"github.com/cilium-docker/cilium-docker/server"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// plugin serves the IpamDriver over core on a unix socket until the test ends and returns a client
// that posts to it as dockerd does.
func plugin(t *testing.T, core *ipam.Core) func(method, body string) (int, map[string]any) {
	t.Helper()
	s := server.New(servertest.Log())
	ipam.Register(s, core)
	hc := servertest.Client(servertest.Serve(t, s))
	return func(method, body string) (int, map[string]any) {
		t.Helper()
		return servertest.PostJSON(t, hc, method, []byte(body))
	}
}

func TestAdapter(t *testing.T) {
	a := agenttest.New(t)
	core, _ := newCore(t, a, 5*time.Second)
	call := plugin(t, core)

	t.Run("RequestPool", func(t *testing.T) {
		code, got := call("IpamDriver.RequestPool", `{"AddressSpace":"CiliumLocal","Pool":"","SubPool":"","Options":{},"V6":false}`)
		want := map[string]any{"PoolID": "CiliumPoolv4", "Pool": "0.0.0.0/0",
			"Data": map[string]any{"com.docker.network.gateway": "10.77.18.133/32"}}
		if code != 200 || !jsonEqual(got, want) {
			t.Errorf("got %d %v, want 200 %v", code, got, want)
		}
	})
	t.Run("RequestPool compose null options", func(t *testing.T) {
		code, got := call("IpamDriver.RequestPool", `{"AddressSpace":"CiliumLocal","Pool":"10.77.0.0/16","Options":null,"V6":false}`)
		want := map[string]any{"PoolID": "CiliumPoolv4", "Pool": "10.77.0.0/16",
			"Data": map[string]any{"com.docker.network.gateway": "10.77.18.133/16"}}
		if code != 200 || !jsonEqual(got, want) {
			t.Errorf("got %d %v, want 200 %v", code, got, want)
		}
	})
	t.Run("RequestPool IPv6", func(t *testing.T) {
		code, got := call("IpamDriver.RequestPool", `{"AddressSpace":"CiliumLocal","V6":true}`)
		if code != 500 || len(got) != 1 || !strings.Contains(str(got["Err"]), "IPv6") {
			t.Errorf("got %d %v, want 500 {\"Err\": ...IPv6...}", code, got)
		}
	})

	var addr string
	t.Run("RequestAddress", func(t *testing.T) {
		code, got := call("IpamDriver.RequestAddress", `{"PoolID":"CiliumPoolv4","Address":"","Options":null}`)
		addr = str(got["Address"])
		p, err := netip.ParsePrefix(addr)
		if code != 200 || err != nil || p.Bits() != 32 || !agentRange.Contains(p.Addr()) {
			t.Fatalf("got %d %v, want 200 with a /32 Address in %s", code, got, agentRange)
		}
		if _, ok := got["Err"]; ok {
			t.Errorf("success answer carries Err: %v", got)
		}
	})
	t.Run("RequestAddress gateway", func(t *testing.T) {
		code, got := call("IpamDriver.RequestAddress",
			`{"PoolID":"CiliumPoolv4","Address":"","Options":{"RequestAddressType":"com.docker.network.gateway"}}`)
		if code != 200 || got["Address"] != "10.77.18.133/32" {
			t.Errorf("got %d %v, want 200 Address 10.77.18.133/32", code, got)
		}
	})
	t.Run("RequestAddress taken", func(t *testing.T) {
		code, got := call("IpamDriver.RequestAddress", `{"PoolID":"CiliumPoolv4","Address":"`+strings.TrimSuffix(addr, "/32")+`"}`)
		if code != 500 || !strings.Contains(str(got["Err"]), "already in use") {
			t.Errorf("got %d %v, want 500 {\"Err\": ...already in use}", code, got)
		}
	})
	t.Run("RequestAddress bad address", func(t *testing.T) {
		code, got := call("IpamDriver.RequestAddress", `{"PoolID":"CiliumPoolv4","Address":"10.77.0.300"}`)
		if code != 500 || !strings.Contains(str(got["Err"]), `address "10.77.0.300"`) {
			t.Errorf("got %d %v, want 500 naming the address", code, got)
		}
	})
	t.Run("ReleaseAddress", func(t *testing.T) {
		ip := strings.TrimSuffix(addr, "/32")
		code, got := call("IpamDriver.ReleaseAddress", `{"PoolID":"CiliumPoolv4","Address":"`+ip+`"}`)
		if code != 200 || len(got) != 0 {
			t.Errorf("got %d %v, want 200 {}", code, got)
		}
		if _, held := a.Allocated()[netip.MustParseAddr(ip)]; held {
			t.Errorf("%s still allocated at the agent", ip)
		}
	})
	t.Run("ReleaseAddress gateway", func(t *testing.T) {
		before := len(a.RequestsTo(agenttest.RouteRelease))
		code, got := call("IpamDriver.ReleaseAddress", `{"PoolID":"CiliumPoolv4","Address":"10.77.18.133"}`)
		if code != 200 || len(got) != 0 || len(a.RequestsTo(agenttest.RouteRelease)) != before {
			t.Errorf("got %d %v, want 200 {} without an agent call", code, got)
		}
	})
	t.Run("ReleaseAddress without address", func(t *testing.T) {
		code, got := call("IpamDriver.ReleaseAddress", `{"PoolID":"CiliumPoolv4"}`)
		if code != 500 || str(got["Err"]) == "" {
			t.Errorf("got %d %v, want 500 with Err", code, got)
		}
	})
	t.Run("ReleasePool", func(t *testing.T) {
		code, got := call("IpamDriver.ReleasePool", `{"PoolID":"CiliumPoolv4"}`)
		if code != 200 || len(got) != 0 {
			t.Errorf("got %d %v, want 200 {}", code, got)
		}
	})
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestAdapterIPv6: on an agent with IPv6, the wire answer to an IPv6 pool request without --subnet is the
// agent's IPv6 range with the router as gateway (Docker then requests no gateway address), and addresses
// are /128s.
func TestAdapterIPv6(t *testing.T) {
	a := agenttest.New(t)
	cfg := agenttest.DefaultConfig()
	cfg.IPv6Range, cfg.IPv6Router = netip.MustParsePrefix("fd00:77::/96"), netip.MustParseAddr("fd00:77::1")
	a.SetConfig(cfg)
	core, _ := newCore(t, a, 5*time.Second)
	call := plugin(t, core)
	code, got := call("IpamDriver.RequestPool", `{"AddressSpace":"CiliumLocal","Pool":"","SubPool":"","Options":{},"V6":true}`)
	want := map[string]any{"PoolID": "CiliumPoolv6", "Pool": "fd00:77::/96",
		"Data": map[string]any{"com.docker.network.gateway": "fd00:77::1/96"}}
	if code != 200 || !jsonEqual(got, want) {
		t.Errorf("RequestPool v6: got %d %v, want 200 %v", code, got, want)
	}
	code, got = call("IpamDriver.RequestAddress", `{"PoolID":"CiliumPoolv6","Address":"","Options":null}`)
	p, err := netip.ParsePrefix(str(got["Address"]))
	if code != 200 || err != nil || p.Bits() != 128 || !cfg.IPv6Range.Contains(p.Addr()) {
		t.Fatalf("RequestAddress v6: got %d %v, want 200 with a /128 in %s", code, got, cfg.IPv6Range)
	}
	if code, got := call("IpamDriver.ReleaseAddress", `{"PoolID":"CiliumPoolv6","Address":"`+p.Addr().String()+`"}`); code != 200 {
		t.Errorf("ReleaseAddress v6: got %d %v, want 200", code, got)
	}
	if n := len(a.RequestsTo(agenttest.RouteRelease)); n != 1 {
		t.Errorf("ReleaseAddress of an address no endpoint took: %d agent releases, want 1", n)
	}
}
