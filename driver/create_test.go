package driver_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

func TestCreateEndpointRejectsBadIDs(t *testing.T) {
	good := hexID("x")
	tests := []struct {
		name, nid, eid, wantErr string
	}{
		{"empty endpoint", good, "", "endpoint: invalid id"},
		{"short endpoint", good, "abc123", "endpoint: invalid id"},
		{"uppercase endpoint", good, strings.ToUpper(good), "endpoint: invalid id"},
		{"path in endpoint", good, "../../../../etc/passwd" + good[22:], "endpoint: invalid id"},
		{"long endpoint", good, good + "0", "endpoint: invalid id"},
		{"bad network", "net1", good, "network: invalid id"},
	}
	e := newEnv(t, defaultTimeouts)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := e.call(t, "NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": tt.nid, "EndpointID": tt.eid,
				"Interface": map[string]string{"Address": "10.77.0.5/32"}})
			if code != http.StatusInternalServerError || !strings.Contains(out["Err"].(string), tt.wantErr) {
				t.Errorf("got %d %v, want 500 with Err containing %q", code, out, tt.wantErr)
			}
			for _, m := range []string{"NetworkDriver.Join", "NetworkDriver.Leave", "NetworkDriver.DeleteEndpoint"} {
				if code, out := e.call(t, m, map[string]any{"NetworkID": tt.nid, "EndpointID": tt.eid,
					"SandboxKey": "/var/run/docker/netns/x"}); code != http.StatusInternalServerError {
					t.Errorf("%s: got %d %v, want 500", m, code, out)
				}
			}
		})
	}
	if calls := e.links.Calls(); len(calls) != 0 {
		t.Errorf("bad IDs reached the kernel: %q", calls)
	}
	if n := len(e.agent.Requests()); n != 0 {
		t.Errorf("bad IDs reached the agent: %d requests", n)
	}
}

func TestCreateEndpointMAC(t *testing.T) {
	nid := hexID("net")
	tests := []struct {
		name      string
		mac       string         // Interface.MacAddress
		opts      map[string]any // Options
		wantMAC   string         // MAC of the container side
		wantReply bool           // the answer carries the MAC
		wantErr   string
	}{
		{name: "docker sent none", wantReply: true},
		{name: "interface MAC", mac: "02:42:0a:c8:05:05", wantMAC: "02:42:0a:c8:05:05",
			opts: map[string]any{"com.docker.network.endpoint.macaddress": "AkIKyAUF"}},
		{name: "base64 option only", wantMAC: "02:42:0a:c8:05:05",
			opts: map[string]any{"com.docker.network.endpoint.macaddress": "AkIKyAUF"}},
		{name: "bad interface MAC", mac: "02:42:0a", wantErr: `mac address "02:42:0a"`},
		{name: "bad option", opts: map[string]any{"com.docker.network.endpoint.macaddress": "!!"}, wantErr: "not a base64 6-byte MAC"},
		{name: "option of the wrong type", opts: map[string]any{"com.docker.network.endpoint.macaddress": 7}, wantErr: "want a base64 string"},
	}
	e := newEnv(t, defaultTimeouts)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eid := hexID(tt.name)
			before := len(e.links.Calls())
			code, out := e.call(t, "NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid,
				"Interface": map[string]string{"Address": "10.77.0.5/32", "AddressIPv6": "", "MacAddress": tt.mac},
				"Options":   tt.opts})
			if tt.wantErr != "" {
				if code != http.StatusInternalServerError || !strings.Contains(out["Err"].(string), tt.wantErr) {
					t.Errorf("got %d %v, want 500 with Err containing %q", code, out, tt.wantErr)
				}
				if calls := e.links.Calls()[before:]; len(calls) != 0 {
					t.Errorf("a bad MAC reached the kernel: %q", calls)
				}
				return
			}
			if code != http.StatusOK {
				t.Fatalf("got %d %v, want 200", code, out)
			}
			l := e.links.link(eid)
			if l == nil {
				t.Fatal("no veth pair made")
			}
			want := tt.wantMAC
			if want == "" {
				want = endpoint.MACFor(endpoint.MustParseID(eid), endpoint.ContainerSide).String()
			}
			if got := l.ContainerMAC.String(); got != want {
				t.Errorf("container MAC: got %s, want %s", got, want)
			}
			iface, _ := out["Interface"].(map[string]any)
			if !tt.wantReply {
				if iface != nil && iface["MacAddress"] != "" {
					t.Errorf("answer echoes Docker's MAC: %v", out)
				}
				return
			}
			if iface == nil || iface["MacAddress"] != want {
				t.Errorf("answer: got %v, want Interface.MacAddress %s", out, want)
			}
			if iface["Address"] != "" || iface["AddressIPv6"] != "" {
				t.Errorf("answer echoes addresses: %v", iface)
			}
		})
	}
}

func TestCreateEndpointSpec(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid, eid := hexID("net"), hexID("ep")
	ip := e.createEndpoint(t, nid, eid)
	l := e.links.link(eid)
	if l == nil {
		t.Fatal("no veth pair made")
	}
	names := endpoint.NamesFor(endpoint.MustParseID(eid))
	if l.MTU != 1450 || l.NetworkID.String() != nid || l.IPv4 != ip || l.Names != names {
		t.Errorf("veth: got %+v, want MTU 1450 (agent routeMTU), network %s, address %s, names %+v", l, nid, ip, names)
	}
	if n := len(e.agent.RequestsTo("PUT /v1/endpoint/{id}")); n != 0 {
		t.Errorf("CreateEndpoint created %d agent endpoints, want 0 (Join does)", n)
	}
}

func TestCreateEndpointErrors(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid := hexID("net")
	code, out := e.call(t, "NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": nid, "EndpointID": hexID("a"),
		"Interface": map[string]string{}})
	if code != 500 || !strings.Contains(out["Err"].(string), "--ipam-driver cilium") {
		t.Errorf("no address: got %d %v, want 500 naming --ipam-driver cilium", code, out)
	}
	cfg := e.agent.Config()
	cfg.DatapathMode = "netkit"
	e.agent.SetConfig(cfg)
	code, out = e.call(t, "NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": nid, "EndpointID": hexID("b"),
		"Interface": map[string]string{"Address": "10.77.0.5/32"}})
	if code != 500 || !strings.Contains(out["Err"].(string), `datapath mode "netkit"`) {
		t.Errorf("netkit agent: got %d %v, want 500 naming the datapath mode", code, out)
	}
	if calls := e.links.Calls(); len(calls) != 0 {
		t.Errorf("failed creates reached the kernel: %q", calls)
	}
}

func TestDeleteEndpointTwice(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid, eid := hexID("net"), hexID("ep")
	e.createEndpoint(t, nid, eid)
	for i := range 2 {
		if out := e.mustCall(t, "NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid}); len(out) != 0 {
			t.Errorf("DeleteEndpoint #%d: got %v, want {}", i+1, out)
		}
	}
	if e.links.has(eid) {
		t.Error("veth pair left after DeleteEndpoint")
	}
	e.links.wantCalls(t, addEp, delEp, delEp)
}

func TestExternalConnectivity(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid, eid := hexID("net"), hexID("ep")
	ip := e.createEndpoint(t, nid, eid)
	id := endpoint.MustParseID(eid)
	portmap := []any{map[string]any{"Proto": 6, "IP": "", "Port": 80, "HostIP": "127.0.0.1", "HostPort": 18080, "HostPortEnd": 18080}}
	tests := []struct {
		name    string
		opts    map[string]any
		want    []endpoint.Binding
		wantErr string
	}{
		{"no ports", map[string]any{"com.docker.network.endpoint.exposedports": []any{}, "com.docker.network.portmap": []any{}}, nil, ""},
		{"no options", nil, nil, ""},
		{"exposed only", map[string]any{"com.docker.network.endpoint.exposedports": []any{map[string]any{"Proto": 6, "Port": 8080}}}, nil, ""},
		{"published port", map[string]any{"com.docker.network.portmap": portmap},
			[]endpoint.Binding{{Proto: endpoint.TCP, Port: 80, HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 18080}}, ""},
		{"sctp", map[string]any{"com.docker.network.portmap": []any{map[string]any{"Proto": 132, "Port": 80, "HostPort": 18080}}}, nil,
			"only tcp and udp ports can be published"},
		{"ipv6 host address", map[string]any{"com.docker.network.portmap": []any{map[string]any{"Proto": 6, "Port": 80, "HostIP": "::1", "HostPort": 18080}}}, nil,
			"only IPv4 unicast host addresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.ports.reset()
			code, out := e.call(t, "NetworkDriver.ProgramExternalConnectivity", map[string]any{"NetworkID": nid, "EndpointID": eid, "Options": tt.opts})
			if tt.wantErr == "" {
				if code != 200 || len(out) != 0 {
					t.Fatalf("got %d %v, want 200 {}", code, out)
				}
				if got := e.ports.published(id); !jsonEqual(got, tt.want) {
					t.Fatalf("published %v, want %v", got, tt.want)
				}
				if tt.want != nil && e.ports.container(id) != ip {
					t.Fatalf("published to %s, want the endpoint's address %s", e.ports.container(id), ip)
				}
				return
			}
			if code != 500 || !strings.Contains(out["Err"].(string), tt.wantErr) {
				t.Fatalf("got %d %v, want 500 with Err containing %q", code, out, tt.wantErr)
			}
			if got := e.ports.published(id); got != nil {
				t.Fatalf("refused call published %v", got)
			}
		})
	}
	t.Run("host port taken", func(t *testing.T) {
		e.ports.reset()
		e.ports.fail = fmt.Errorf("tcp 0.0.0.0:18080: %w", endpoint.ErrPortInUse)
		defer func() { e.ports.fail = nil }()
		code, out := e.call(t, "NetworkDriver.ProgramExternalConnectivity", map[string]any{"NetworkID": nid, "EndpointID": eid,
			"Options": map[string]any{"com.docker.network.portmap": portmap}})
		if code != 500 || !strings.Contains(fmt.Sprint(out["Err"]), "in use on the node") {
			t.Fatalf("got %d %v, want 500 naming the taken port", code, out)
		}
	})
	t.Run("refused with the agent's BPF host routing", func(t *testing.T) {
		e.ports.reset()
		cfg := e.agent.Config()
		cfg.BPFHostRouting = true
		e.agent.SetConfig(cfg)
		defer func() { cfg.BPFHostRouting = false; e.agent.SetConfig(cfg) }()
		code, out := e.call(t, "NetworkDriver.ProgramExternalConnectivity", map[string]any{"NetworkID": nid, "EndpointID": eid,
			"Options": map[string]any{"com.docker.network.portmap": portmap}})
		if code != 500 || !strings.Contains(fmt.Sprint(out["Err"]), "--enable-host-legacy-routing=true") {
			t.Fatalf("got %d %v, want 500 saying how to turn BPF host routing off", code, out)
		}
		if got := e.ports.published(id); got != nil {
			t.Fatalf("refused call published %v", got)
		}
		if out := e.mustCall(t, "NetworkDriver.ProgramExternalConnectivity", map[string]any{"NetworkID": nid, "EndpointID": eid,
			"Options": map[string]any{}}); len(out) != 0 {
			t.Fatalf("no ports with BPF host routing: got %v, want {}", out)
		}
	})
	t.Run("revoke and delete remove them, twice", func(t *testing.T) {
		e.ports.reset()
		e.mustCall(t, "NetworkDriver.ProgramExternalConnectivity", map[string]any{"NetworkID": nid, "EndpointID": eid,
			"Options": map[string]any{"com.docker.network.portmap": portmap}})
		for range 2 {
			if out := e.mustCall(t, "NetworkDriver.RevokeExternalConnectivity", map[string]any{"NetworkID": nid, "EndpointID": eid}); len(out) != 0 {
				t.Fatalf("RevokeExternalConnectivity: got %v, want {}", out)
			}
		}
		if got := e.ports.published(id); got != nil {
			t.Fatalf("published after revoke: %v", got)
		}
		e.mustCall(t, "NetworkDriver.ProgramExternalConnectivity", map[string]any{"NetworkID": nid, "EndpointID": eid,
			"Options": map[string]any{"com.docker.network.portmap": portmap}})
		e.mustCall(t, "NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid})
		if got := e.ports.published(id); got != nil {
			t.Fatalf("published after DeleteEndpoint (a lost revoke): %v", got)
		}
	})
}

// A kernel failure answers 500 with its cause and leaves no agent endpoint behind.
func TestLinkFailuresAnswer500(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid, eid := hexID("net"), hexID("ep")
	want500 := func(method string, body map[string]any, cause string) {
		t.Helper()
		code, out := e.call(t, method, body)
		if code != http.StatusInternalServerError || !strings.Contains(fmt.Sprint(out["Err"]), cause) {
			t.Errorf("%s: got %d %v, want 500 with Err containing %q", method, code, out, cause)
		}
	}

	e.links.failOn("create", errors.New("add link: operation not permitted"))
	want500("NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid,
		"Interface": map[string]string{"Address": "10.77.0.5/32"}}, "add link: operation not permitted")
	e.links.failOn("create", nil)

	e.createEndpoint(t, nid, eid)
	e.links.failOn("get", errors.New("look up link: resource temporarily unavailable"))
	want500("NetworkDriver.Join", joinRequest(nid, eid), "look up link: resource temporarily unavailable")
	if eps := e.agent.Endpoints(); len(eps) != 0 {
		t.Errorf("Join whose link lookup failed left agent endpoints: %s", mustJSON(eps))
	}

	e.links.failOn("delete", errors.New("delete link: device or resource busy"))
	want500("NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid},
		"delete link: device or resource busy")
	e.links.failOn("delete", nil)
	e.mustCall(t, "NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid})
	if e.links.has(eid) {
		t.Error("veth pair left after DeleteEndpoint")
	}
	// The failed create, the create, the failed lookup, the failed delete, the delete.
	e.links.wantCalls(t, addEp, addEp, showEp, delEp, delEp)
}

// TestCreateEndpointIPv6DisabledBySysctl: an endpoint whose interface sysctls turn IPv6 off (Docker 29
// then releases its IPv6 address through the IPAM alone, right after Join) is made without it, so the
// agent endpoint does not hold it; an IPv6-only endpoint with IPv6 off is refused before the kernel.
func TestCreateEndpointIPv6DisabledBySysctl(t *testing.T) {
	e := newEnv(t, defaultTimeouts)
	nid := hexID("net")
	for _, tt := range []struct {
		name, sysctls string
		wantV6        bool
	}{
		{"no sysctls", "", true},
		{"other sysctls", "net.ipv6.conf.IFNAME.accept_ra=0", true},
		{"disable_ipv6=0", "net.ipv6.conf.IFNAME.disable_ipv6=0", true},
		{"disable_ipv6=1", "net.ipv4.conf.IFNAME.log_martians=1,net.ipv6.conf.IFNAME.disable_ipv6=1", false},
		{"lower-case ifname", "net.ipv6.conf.ifname.disable_ipv6=1", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eid := hexID(tt.name)
			e.mustCall(t, "NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid,
				"Interface": map[string]string{"Address": "10.77.0.5/32", "AddressIPv6": "fd00::5/128"},
				"Options":   map[string]any{"com.docker.network.endpoint.sysctls": tt.sysctls}})
			l := e.links.link(eid)
			if l == nil {
				t.Fatal("no veth pair made")
			}
			if got := l.IPv6.IsValid(); got != tt.wantV6 || l.IPv4.String() != "10.77.0.5" {
				t.Errorf("link addresses %s, %s; want IPv4 10.77.0.5 and IPv6 %v", l.IPv4, l.IPv6, tt.wantV6)
			}
		})
	}
	calls := len(e.links.Calls())
	code, out := e.call(t, "NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": nid, "EndpointID": hexID("v6only"),
		"Interface": map[string]string{"AddressIPv6": "fd00::6/128"},
		"Options":   map[string]any{"com.docker.network.endpoint.sysctls": "net.ipv6.conf.IFNAME.disable_ipv6=1"}})
	if code != http.StatusInternalServerError || !strings.Contains(out["Err"].(string), "no IPv4") {
		t.Errorf("IPv6-only endpoint with IPv6 off: got %d %v, want 500 saying the network has no IPv4", code, out)
	}
	if n := len(e.links.Calls()); n != calls {
		t.Errorf("the refused endpoint reached the kernel: %q", e.links.Calls()[calls:])
	}
}
