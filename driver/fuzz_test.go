package driver_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

// fuzzMethods are the plugin calls whose bodies the fuzzer writes: every call that decodes a body.
var fuzzMethods = []string{
	"NetworkDriver.CreateNetwork", "NetworkDriver.DeleteNetwork", "NetworkDriver.CreateEndpoint",
	"NetworkDriver.DeleteEndpoint", "NetworkDriver.EndpointOperInfo", "NetworkDriver.Join", "NetworkDriver.Leave",
	"NetworkDriver.ProgramExternalConnectivity", "NetworkDriver.RevokeExternalConnectivity",
	"IpamDriver.RequestPool", "IpamDriver.ReleasePool", "IpamDriver.RequestAddress", "IpamDriver.ReleaseAddress",
}

// state is what a refused call must leave as it was: the agent's endpoints and allocations and the
// kernel's links.
type state struct {
	endpoints []int64
	allocated []string
	links     []string
}

func (e *env) state() state {
	var s state
	for _, ep := range e.agent.Endpoints() {
		s.endpoints = append(s.endpoints, ep.ID)
	}
	for ip, owner := range e.agent.Allocated() {
		s.allocated = append(s.allocated, ip.String()+"="+owner)
	}
	slices.Sort(s.allocated)
	e.links.mu.Lock()
	for id := range e.links.links {
		s.links = append(s.links, id.String())
	}
	e.links.mu.Unlock()
	slices.Sort(s.links)
	return s
}

func (s state) equal(o state) bool {
	return slices.Equal(s.endpoints, o.endpoints) && slices.Equal(s.allocated, o.allocated) && slices.Equal(s.links, o.links)
}

// FuzzPluginCalls sends arbitrary bodies to every protocol handler of the plugin, wired as the binary
// wires it. Whatever the body, the plugin answers (no panic, no hang) with a JSON object; an answer
// that is an error ({"Err": ...}) leaves the agent, the addresses and the links as they were.
func FuzzPluginCalls(f *testing.F) {
	nid, eid := hexID("net"), hexID("ep")
	seeds := map[string]any{
		"NetworkDriver.CreateNetwork":  map[string]any{"NetworkID": nid, "Options": map[string]any{}, "IPv4Data": []any{map[string]any{"AddressSpace": "CiliumLocal", "Pool": "0.0.0.0/0", "Gateway": "10.77.18.133/32"}}},
		"NetworkDriver.CreateEndpoint": map[string]any{"NetworkID": nid, "EndpointID": eid, "Interface": map[string]string{"Address": "10.77.0.9/32"}},
		"NetworkDriver.Join":           joinRequest(nid, eid),
		"NetworkDriver.Leave":          map[string]any{"NetworkID": nid, "EndpointID": eid},
		"NetworkDriver.DeleteEndpoint": map[string]any{"NetworkID": nid, "EndpointID": eid},
		"NetworkDriver.ProgramExternalConnectivity": map[string]any{"NetworkID": nid, "EndpointID": eid,
			"Options": map[string]any{"com.docker.network.portmap": []any{map[string]any{"Proto": 6, "Port": 80, "HostPort": 8080}}}},
		"IpamDriver.RequestPool":    map[string]any{"AddressSpace": "CiliumLocal", "Pool": "10.77.0.0/16", "V6": false},
		"IpamDriver.RequestAddress": map[string]any{"PoolID": "CiliumPoolv4", "Address": "10.77.0.7", "Options": map[string]string{}},
		"IpamDriver.ReleaseAddress": map[string]any{"PoolID": "CiliumPoolv4", "Address": "10.77.0.7"},
	}
	for i, m := range fuzzMethods {
		if s, ok := seeds[m]; ok {
			b, _ := json.Marshal(s)
			f.Add(uint8(i), b)
		}
		f.Add(uint8(i), []byte(`{}`))
		f.Add(uint8(i), []byte(`{"NetworkID": 7, "EndpointID": null}`))
		f.Add(uint8(i), []byte(`{"EndpointID": "../../etc", "SandboxKey": "relative", "Interface": {"Address": "300.1.1.1/99"}}`))
		f.Add(uint8(i), []byte(`[`))
	}
	f.Fuzz(func(t *testing.T, m uint8, body []byte) {
		e := newEnv(t, timeouts{call: 500 * time.Millisecond, create: 500 * time.Millisecond, docker: 200 * time.Millisecond})
		// One endpoint joined already, so that the calls meet state as well as an empty plugin.
		e.createEndpoint(t, hexID("net"), hexID("ep"))
		e.mustCall(t, "NetworkDriver.Join", joinRequest(hexID("net"), hexID("ep")))
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		before := e.state()
		code, out := e.call(t, method, string(body))
		if code == http.StatusOK {
			return
		}
		if msg, ok := out["Err"].(string); !ok || msg == "" {
			t.Fatalf("%s %q: got %d %v, want an answer with Err", method, body, code, out)
		}
		if after := e.state(); !before.equal(after) {
			t.Fatalf("%s %q was refused (%v) but changed state:\nbefore %+v\nafter  %+v", method, body, out["Err"], before, after)
		}
	})
}
