package driver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/driver"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/ipam"
	"github.com/cilium-docker/cilium-docker/labels"
	"github.com/cilium-docker/cilium-docker/server"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// The driver runs on the real agent and Docker clients and on the IPAM's book.
var (
	_ driver.Agent     = (*agent.Client)(nil)
	_ driver.Agent     = (*agent.Cached)(nil)
	_ driver.Docker    = (*dockerapi.Client)(nil)
	_ driver.Events    = (*dockerapi.Client)(nil)
	_ driver.Addresses = (*ipam.Core)(nil)
	_ driver.HandOver  = (*driver.Builds)(nil)
	_ driver.Deleter   = (*driver.Reaper)(nil)
)

// noTracker is the Tracker of a driver whose tests read no in-flight set.
type noTracker struct{}

func (noTracker) Endpoint(endpoint.ID) func() { return func() {} }
func (noTracker) Address(netip.Addr) func()   { return func() {} }

// joinsWait is the HandOver of a driver whose every Join waits for its own create: it takes none.
type joinsWait struct{}

func (joinsWait) Has(endpoint.ID) bool                            { return false }
func (joinsWait) Start(endpoint.ID, func() error) bool            { return false }
func (joinsWait) Joined(endpoint.ID)                              {}
func (joinsWait) Wait(context.Context, endpoint.ID) (bool, error) { return true, nil } // nothing to make sure of
func (joinsWait) Forget(context.Context, endpoint.ID) error       { return nil }

// noPorts is the Ports of a driver that publishes nothing.
type noPorts struct{}

func (noPorts) Publish(_ context.Context, _ endpoint.ID, _ netip.Addr, bs []endpoint.Binding) ([]endpoint.Mapping, error) {
	if len(bs) > 0 {
		return nil, errors.New("publishing ports (-p) is not enabled in this plugin")
	}
	return nil, nil
}
func (noPorts) Unpublish(context.Context, endpoint.ID) error { return nil }

// deps is the driver's wiring in the tests: as the binary's, with fakes for the kernel, no reaper (the
// links delete a pair on DeleteEndpoint's path), no in-flight set and a record of its own labelled.
func (e *env) deps(name string, ports driver.Ports, h driver.HandOver, labelled *driver.Labelled) driver.Deps {
	return driver.Deps{Log: servertest.Log(), Name: name, AddressSpaces: ipam.AddressSpaces(), Agent: e.ac, Links: e.links,
		Docker: e.dc, Addresses: e.ipam, Policy: labels.DefaultPolicy(), Ports: ports, Tracker: noTracker{}, Reap: e.links,
		Labelled: labelled, HandOver: h, Egress: e.egress, Node: "n1"}
}

// hexID makes a Docker-style 64-hex ID from a readable name.
func hexID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// timeouts bounds the clients of one test environment.
type timeouts struct {
	call, create, docker time.Duration
}

var defaultTimeouts = timeouts{call: 5 * time.Second, create: 5 * time.Second, docker: 2 * time.Second}

// env is the driver wired as the binary wires it, with fakes for the agent, Docker and the kernel.
type env struct {
	agent  *agenttest.Agent
	docker *dockertest.Docker
	links  *fakeLinks
	ports  *fakePorts
	egress *fakeEgress
	book   *ipam.Book
	ipam   *ipam.Core
	drv    *driver.Driver
	sync   *driver.LabelSync
	ac     *agent.Client
	dc     *dockerapi.Client
	sock   string
	hc     *http.Client
}

func newEnv(t *testing.T, to timeouts) *env {
	t.Helper()
	return newEnvAt(t, to, agenttest.DefaultConfig().Version)
}

// newEnvAt is newEnv with a fake agent that answers as agent line v.
func newEnvAt(t *testing.T, to timeouts, v agenttest.Version) *env {
	t.Helper()
	return newEnvNamed(t, to, v, driver.DriverName)
}

// newEnvNamed is newEnvAt with the driver named name in Docker (a managed plugin's reference).
func newEnvNamed(t *testing.T, to timeouts, v agenttest.Version, name string) *env {
	t.Helper()
	return newEnvWith(t, to, v, name, joinsWait{}, nil)
}

// newEnvHandingOver is newEnv with a driver whose Joins hand their creates to b (driver.Builds).
func newEnvHandingOver(t *testing.T, to timeouts, b *driver.Builds) *env {
	t.Helper()
	return newEnvWith(t, to, agenttest.DefaultConfig().Version, driver.DriverName, b, nil)
}

// newEnvWith is the environment with its driver's hand-over h, and the record of labelled containers
// that its driver and label sync share (nil: each has one of its own, so the sync skips nothing).
func newEnvWith(t *testing.T, to timeouts, v agenttest.Version, name string, h driver.HandOver, labelled *driver.Labelled) *env {
	t.Helper()
	e := &env{agent: agenttest.New(t), docker: dockertest.New(t), links: newFakeLinks(), ports: newFakePorts(), egress: newFakeEgress(), book: ipam.NewBook()}
	cfg := e.agent.Config()
	cfg.Version = v
	e.agent.SetConfig(cfg)
	var err error
	if e.ac, err = agent.New(e.agent.Addr(), agent.Timeouts{Call: to.call, Create: to.create}); err != nil {
		t.Fatal(err)
	}
	if e.dc, err = dockerapi.New(e.docker.Host(), to.docker); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.dc.Close() })
	e.ipam = ipam.New(ipam.Deps{Agent: e.ac, Book: e.book, Tracker: noTracker{}})
	skip := labelled
	if labelled == nil {
		labelled, skip = driver.NewLabelled(), driver.NewLabelled()
	}
	e.drv = driver.New(e.deps(name, e.ports, h, labelled))
	e.sync = driver.NewLabelSync(driver.LabelSyncDeps{Log: servertest.Log(), Agent: e.ac, Docker: e.dc, Policy: labels.DefaultPolicy(), Skip: skip,
		Egress: e.drv.Egress()})

	s := server.New(servertest.Log())
	driver.Register(s, e.drv)
	ipam.Register(s, e.ipam)
	e.sock = servertest.Serve(t, s)
	e.hc = servertest.Client(e.sock)
	return e
}

// call posts a plugin call as dockerd does; body is JSON-encoded unless it is a string.
func (e *env) call(t *testing.T, method string, body any) (int, map[string]any) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	return servertest.PostJSON(t, e.hc, method, b)
}

// mustCall is call that fails the test unless the answer is 200.
func (e *env) mustCall(t *testing.T, method string, body any) map[string]any {
	t.Helper()
	code, out := e.call(t, method, body)
	if code != http.StatusOK {
		t.Fatalf("%s: got %d %v, want 200", method, code, out)
	}
	return out
}

// allocate requests an address from the IPAM, as Docker does before CreateEndpoint.
func (e *env) allocate(t *testing.T) netip.Addr {
	t.Helper()
	p, err := e.ipam.RequestAddress(context.Background(), ipam.PoolV4, netip.Addr{})
	if err != nil {
		t.Fatalf("RequestAddress: %v", err)
	}
	return p.Addr()
}

// createEndpoint runs Docker's RequestAddress + CreateEndpoint and returns the address.
func (e *env) createEndpoint(t *testing.T, nid, eid string) netip.Addr {
	t.Helper()
	ip := e.allocate(t)
	e.mustCall(t, "NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid,
		"Interface": map[string]string{"Address": ip.String() + "/32", "AddressIPv6": "", "MacAddress": ""},
		"Options":   map[string]any{"com.docker.network.endpoint.exposedports": []any{}, "com.docker.network.portmap": []any{}}})
	return ip
}

func joinRequest(nid, eid string) map[string]any {
	return map[string]any{"NetworkID": nid, "EndpointID": eid, "SandboxKey": "/var/run/docker/netns/c26d8586dc1b",
		"Options": map[string]any{"com.docker.network.endpoint.exposedports": []any{}, "com.docker.network.portmap": []any{}}}
}

func jsonEqual(a, b any) bool {
	return bytes.Equal(mustJSON(a), mustJSON(b))
}

// mustJSON encodes v, going through a generic value so that structs and maps compare equal.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var g any
	if err := json.Unmarshal(b, &g); err != nil {
		panic(err)
	}
	b, _ = json.Marshal(g)
	return b
}
