package driver_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestCreateNetworkRefusals: networks the plugin cannot serve as asked are refused with what to do,
// and a refusal changes nothing (no agent call, no address, no link).
func TestCreateNetworkRefusals(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid := hexID("net")
	cilium := []any{map[string]any{"AddressSpace": "CiliumLocal", "Pool": "0.0.0.0/0", "Gateway": "10.77.18.133/32"}}
	opts := func(generic map[string]any, internal bool) map[string]any {
		return map[string]any{"com.docker.network.enable_ipv6": false, "com.docker.network.enable_ipv4": true,
			"com.docker.network.internal": internal, "com.docker.network.generic": generic}
	}
	tests := []struct {
		name    string
		req     map[string]any
		wantErr string // "" = accepted
	}{
		{"cilium IPAM, as docker network create sends it", map[string]any{"NetworkID": nid, "Options": opts(map[string]any{}, false), "IPv4Data": cilium}, ""},
		{"compose: generic {} and no IPv4 flag", map[string]any{"NetworkID": nid, "Options": map[string]any{"com.docker.network.generic": map[string]any{}}, "IPv4Data": cilium}, ""},
		{"--ipv6=false given as -o", map[string]any{"NetworkID": nid, "Options": opts(map[string]any{"com.docker.network.enable_ipv6": "false"}, false), "IPv4Data": cilium}, ""},
		{"Docker's default IPAM (no --ipam-driver cilium)", map[string]any{"NetworkID": nid, "Options": opts(map[string]any{}, false),
			"IPv4Data": []any{map[string]any{"AddressSpace": "LocalDefault", "Pool": "172.18.0.0/16", "Gateway": "172.18.0.1/16"}}},
			`pool 172.18.0.0/16 comes from another IPAM driver (address space "LocalDefault"): create the network with --ipam-driver cilium`},
		{"the null IPAM", map[string]any{"NetworkID": nid, "Options": opts(map[string]any{}, false),
			"IPv4Data": []any{map[string]any{"AddressSpace": "null", "Pool": "0.0.0.0/0"}}}, "--ipam-driver cilium"},
		{"another IPAM's IPv6 pool", map[string]any{"NetworkID": nid, "Options": opts(map[string]any{}, false), "IPv4Data": cilium,
			"IPv6Data": []any{map[string]any{"AddressSpace": "LocalDefault", "Pool": "fd00::/64"}}}, "--ipam-driver cilium"},
		{"no pool at all", map[string]any{"NetworkID": nid, "Options": opts(map[string]any{}, false)}, "--ipam-driver cilium"},
		{"--internal", map[string]any{"NetworkID": nid, "Options": opts(map[string]any{}, true), "IPv4Data": cilium}, "--internal is not supported on a cilium network"},
		{"-o options", map[string]any{"NetworkID": nid, "Options": opts(map[string]any{"foo": "bar", "com.docker.network.driver.mtu": "1400"}, false), "IPv4Data": cilium},
			"driver option com.docker.network.driver.mtu, foo is not supported by the cilium driver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, calls := e.state(), len(e.agent.Requests())
			code, out := e.call(t, "NetworkDriver.CreateNetwork", tt.req)
			if tt.wantErr == "" {
				if code != http.StatusOK {
					t.Fatalf("got %d %v, want 200", code, out)
				}
				return
			}
			if err, _ := out["Err"].(string); code == http.StatusOK || !strings.Contains(err, tt.wantErr) {
				t.Errorf("got %d %v, want an error containing %q", code, out, tt.wantErr)
			}
			if !e.state().equal(before) || len(e.agent.Requests()) != calls {
				t.Errorf("a refused network changed state or called the agent")
			}
		})
	}
}
