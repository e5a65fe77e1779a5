package agenttest

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/cilium/cilium/api/v1/models"
)

// Config is the agent configuration the fake reports in GET /v1/config.
type Config struct {
	IPv4Range  netip.Prefix // invalid: IPv4 disabled
	IPv4Router netip.Addr
	IPv6Range  netip.Prefix // invalid: IPv6 disabled
	IPv6Router netip.Addr
	RouteMTU   int
	// DatapathMode is "veth" on the agents this plugin supports.
	DatapathMode string
	// Version is the agent line whose endpoint API the fake answers with.
	Version Version
	// ClusterName is the agent's --cluster-name, reported as ClusterName in the configuration map.
	ClusterName string
	// LabelPrefixes and LabelPrefixFile are the agent's --labels and --label-prefix-file, reported in
	// the configuration map. The fake filters labels as the agent does (pkg/labelsfilter) only with
	// the default rules (both empty): the library's rules are set once per process.
	LabelPrefixes   []string
	LabelPrefixFile string
	// BPFHostRouting reports EnableHostLegacyRouting false in the configuration map, as an agent with
	// kube-proxy replacement and BPF host routing does; the default is legacy, as the bed's agent.
	BPFHostRouting bool
	// OtherNodes are the IPv4 pod ranges of the other nodes of the cluster, listed with this one's in
	// GET /v1/cluster/nodes.
	OtherNodes []netip.Prefix
}

// Version is a cilium-agent release line whose endpoint API differs from the others'.
type Version int

const (
	// V1_20 answers as v1.20.2: endpoints are addressed only as cilium-local, cilium-global,
	// cni-attachment-id, cep-name, ipv4 and ipv6 (any other prefix is a 400 "unknown endpoint ID
	// prefix"), the create request's container-name, docker-endpoint-id and docker-network-id are
	// ignored, and status.external-identifiers holds only cni-attachment-id (cilium/cilium#46709,
	// #46810).
	V1_20 Version = iota
	// V1_19 answers as v1.19.7: also the legacy prefixes container-id, docker-endpoint,
	// container-name and pod-name, and every identifier in status.external-identifiers.
	V1_19
)

// Versions are the agent lines the plugin supports, for tests that run against each.
var Versions = []Version{V1_19, V1_20}

func (v Version) String() string {
	switch v {
	case V1_19:
		return "v1.19"
	case V1_20:
		return "v1.20"
	}
	return fmt.Sprintf("Version(%d)", int(v))
}

// DefaultConfig is what the test bed's agent reports: IPv4 only, VXLAN MTU, veth datapath.
func DefaultConfig() Config {
	return Config{
		IPv4Range:    netip.MustParsePrefix("10.77.0.0/16"),
		IPv4Router:   netip.MustParseAddr("10.77.18.133"),
		RouteMTU:     1450,
		DatapathMode: "veth",
		ClusterName:  "local",
	}
}

// HostEndpointID is the ID of the host endpoint every agent lists in GET /v1/endpoint.
const HostEndpointID = 1

// Request is one request the fake received.
type Request struct {
	Route  string // the Route* constant it matched
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Agent is a fake cilium-agent. Its methods are safe for concurrent use.
type Agent struct {
	dir, path string

	mu             sync.Mutex
	cfg            Config                     // guarded by mu
	freeIPOnDelete bool                       // guarded by mu
	faults         map[string]*Fault          // guarded by mu
	allocated      map[netip.Addr]string      // IP -> owner; guarded by mu
	expiring       map[netip.Addr]string      // IP -> expiration UUID whose timer runs; guarded by mu
	cursor         map[bool]netip.Addr        // last address handed out, per family (true = v6); guarded by mu
	endpoints      map[int64]*models.Endpoint // guarded by mu
	changes        []*models.EndpointChangeRequest
	identities     map[string]int64    // sorted label set -> identity; guarded by mu
	labels         map[int64]*opLabels // endpoint ID -> its identity labels; guarded by mu
	k8s            map[int64][2]string // endpoint ID -> its k8s-namespace and k8s-pod-name; guarded by mu
	requests       []Request           // guarded by mu
	inFlight       map[string]int      // route -> requests being served; guarded by mu
	maxInFlight    map[string]int      // route -> the most served at once; guarded by mu
	srv            *http.Server        // nil while stopped; guarded by mu
	stop           chan struct{}       // closed by Stop; guarded by mu
	served         chan struct{}       // closed when the serving goroutine returns; guarded by mu
}

// New starts a fake agent on a unix socket in a fresh temporary directory; it stops when the test
// ends.
func New(t testing.TB) *Agent {
	t.Helper()
	a := NewStopped(t)
	if err := a.Start(); err != nil {
		t.Fatalf("start fake cilium-agent: %v", err)
	}
	return a
}

// NewStopped returns a fake agent whose socket path is chosen but not yet listened on, for tests of
// an agent that comes up later: call Start.
func NewStopped(t testing.TB) *Agent {
	t.Helper()
	// A short directory: t.TempDir() paths can exceed the 108-byte limit of a socket path.
	dir, err := os.MkdirTemp("", "fa")
	if err != nil {
		t.Fatalf("fake cilium-agent: %v", err)
	}
	a := &Agent{
		dir:            dir,
		path:           filepath.Join(dir, "cilium.sock"),
		cfg:            DefaultConfig(),
		freeIPOnDelete: true,
		faults:         map[string]*Fault{},
		allocated:      map[netip.Addr]string{},
		expiring:       map[netip.Addr]string{},
		cursor:         map[bool]netip.Addr{},
		endpoints:      map[int64]*models.Endpoint{},
		identities:     map[string]int64{},
		labels:         map[int64]*opLabels{},
		k8s:            map[int64][2]string{},
		inFlight:       map[string]int{},
		maxInFlight:    map[string]int{},
	}
	a.endpoints[HostEndpointID] = hostEndpoint(a.cfg)
	t.Cleanup(func() {
		a.Stop()
		os.RemoveAll(dir)
	})
	return a
}

// Path is the socket's file path.
func (a *Agent) Path() string { return a.path }

// Addr is the agent address in the form the plugin's --cilium-api takes: unix:///path.
func (a *Agent) Addr() string { return "unix://" + a.path }

// Start listens on the socket path (again, after Stop) and serves until Stop. State (allocations,
// endpoints) survives a Stop/Start, as an agent restores it from its state directory.
func (a *Agent) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv != nil {
		return errors.New("fake cilium-agent already started")
	}
	if err := os.Remove(a.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	l, err := net.Listen("unix", a.path)
	if err != nil {
		return fmt.Errorf("listen on %q: %w", a.path, err)
	}
	a.srv = &http.Server{Handler: a.mux()}
	a.stop = make(chan struct{})
	a.served = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		_ = srv.Serve(l) // returns ErrServerClosed after Stop
	}(a.srv, a.served)
	return nil
}

// Stop closes the socket and every connection, ends hanging requests and removes the socket file, so
// that clients see an agent that is down. It is a no-op on a stopped agent.
func (a *Agent) Stop() {
	a.mu.Lock()
	srv, stop, served := a.srv, a.stop, a.served
	a.srv = nil
	a.mu.Unlock()
	if srv == nil {
		return
	}
	close(stop)
	_ = srv.Close()
	<-served
	_ = os.Remove(a.path)
}

// Close is Stop.
func (a *Agent) Close() { a.Stop() }

// SetConfig replaces the configuration GET /v1/config reports.
func (a *Agent) SetConfig(c Config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg = c
}

// Config returns the configuration GET /v1/config reports.
func (a *Agent) Config() Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// SetFreeIPOnDelete sets whether DELETE /v1/endpoint/{id} frees the endpoint's addresses, as the
// agent's source does for endpoints without external IPAM (the default, true).
func (a *Agent) SetFreeIPOnDelete(free bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.freeIPOnDelete = free
}

// Allocated returns the allocated addresses with their owners.
func (a *Agent) Allocated() map[netip.Addr]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.allocated)
}

// Allocate marks ip as allocated to owner, as if another client had taken it.
func (a *Agent) Allocate(ip netip.Addr, owner string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.allocated[ip] = owner
}

// Expiring returns the addresses whose expiration timer runs, with the timer's UUID: allocated with
// the header "expiration: true" and not yet claimed by an endpoint create.
func (a *Agent) Expiring() map[netip.Addr]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.expiring)
}

// Expire fires every running expiration timer now: their addresses are freed.
func (a *Agent) Expire() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ip := range a.expiring {
		delete(a.allocated, ip)
		delete(a.expiring, ip)
	}
}

// Endpoints returns the endpoints created through the API (not the host endpoint), by ID.
func (a *Agent) Endpoints() []*models.Endpoint {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.listLocked(false)
}

// ChangeRequests returns the bodies of every endpoint create (PUT /v1/endpoint/{id}), including
// rejected ones, in arrival order.
func (a *Agent) ChangeRequests() []*models.EndpointChangeRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*models.EndpointChangeRequest, len(a.changes))
	for i, c := range a.changes {
		out[i] = deepCopy(c)
	}
	return out
}

// Requests returns every request received, in arrival order.
func (a *Agent) Requests() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.requests)
}

// MaxInFlight returns the most requests of route (a Route* constant) the fake served at once.
func (a *Agent) MaxInFlight(route string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.maxInFlight[route]
}

// RequestsTo returns the requests that matched route (a Route* constant).
func (a *Agent) RequestsTo(route string) []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Request
	for _, r := range a.requests {
		if r.Route == route {
			out = append(out, r)
		}
	}
	return out
}

func (a *Agent) listLocked(withHost bool) []*models.Endpoint {
	ids := slices.Sorted(maps.Keys(a.endpoints))
	out := make([]*models.Endpoint, 0, len(ids))
	for _, id := range ids {
		if id == HostEndpointID && !withHost {
			continue
		}
		out = append(out, deepCopy(a.endpoints[id]))
	}
	return out
}

// Restart stops the agent and starts it again as a real restart does: endpoints are restored with
// their addresses, and every other allocation (POST /ipam with no endpoint yet) and every expiration
// timer is forgotten.
func (a *Agent) Restart() error {
	a.Stop()
	a.mu.Lock()
	held := map[netip.Addr]bool{}
	for _, ep := range a.endpoints {
		if ep.Status == nil || ep.Status.Networking == nil {
			continue
		}
		for _, p := range ep.Status.Networking.Addressing {
			for _, s := range []string{p.IPv4, p.IPv6} {
				if ip, err := netip.ParseAddr(s); err == nil {
					held[ip] = true
				}
			}
		}
	}
	for ip := range a.allocated {
		if !held[ip] {
			delete(a.allocated, ip)
		}
	}
	clear(a.expiring)
	a.mu.Unlock()
	return a.Start()
}
