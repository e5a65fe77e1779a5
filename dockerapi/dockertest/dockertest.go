package dockertest

import (
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
)

// APIVersion is the API version the fake announces (Docker 20.10).
const APIVersion = "1.41"

// Routes, for SetFault.
const (
	RoutePing       = "GET /_ping"
	RouteNetworks   = "GET /{version}/networks"
	RouteNetwork    = "GET /{version}/networks/{id}"
	RouteContainers = "GET /{version}/containers/json"
	RouteInspect    = "GET /{version}/containers/{id}/json"
	RouteEvents     = "GET /{version}/events"
	RouteImage      = "GET /{version}/images/{id}/json"
)

// versionRe matches the version segment of a versioned path, e.g. v1.41.
var versionRe = regexp.MustCompile(`^v1\.\d+$`)

// Container is a container the fake knows.
type Container struct {
	ID, Name string // Name without the leading slash
	Labels   map[string]string
	// Running is false for a container that is still starting (state "created").
	Running bool
	// State overrides the state Running implies: "paused", "exited", ...
	State string
	// Networks maps network ID to the container's endpoint ID on it.
	Networks map[string]string
	// Image is the ID of the container's image (see AddImage); its labels are copied into the
	// container's, under the container's own, as dockerd does at create.
	Image string
}

// Network is a network the fake lists (GET /networks) besides answering an inspect of any ID.
type Network struct {
	ID, Name           string
	Driver, IPAMDriver string            // "" = cilium
	Aux                map[string]string // --aux-address name=address
	Internal           bool              // --internal
	Subnets            []string          // the IPAM pools' subnets; none: one 0.0.0.0/0
	// Endpoints are endpoints of the network that no container of the fake holds: stale ones whose
	// container is gone, or any the test wants listed as they are.
	Endpoints []Endpoint
	// InspectStatus, when not 0, is the HTTP status its inspect answers with an error (404: removed
	// since the list; 500: the daemon failed); the list still shows it.
	InspectStatus int
}

// Endpoint is an endpoint in a network's inspect answer.
type Endpoint struct {
	ID, Name   string
	IPv4, IPv6 string // "10.77.0.5/32" form
	// Container is the ID it is listed under when it is in a sandbox; "" lists it as "ep-<ID>".
	Container string
}

// Fault makes a route slow or unresponsive.
type Fault struct {
	Latency time.Duration
	Hang    bool // block until the client gives up
}

// Docker is a fake Docker Engine. Its methods are safe for concurrent use.
type Docker struct {
	path string
	srv  *http.Server

	mu         sync.Mutex
	containers map[string]*Container                 // by ID; guarded by mu
	images     map[string]map[string]string          // image ID -> its labels; guarded by mu
	drivers    map[string]string                     // network ID -> driver, when not cilium; guarded by mu
	networks   map[string]*Network                   // by ID; guarded by mu
	addrs      map[string]string                     // endpoint ID -> its IPv4 in CIDR form; guarded by mu
	faults     map[string]Fault                      // guarded by mu
	streams    map[chan events.Message]chan struct{} // open event streams and their break channels; guarded by mu
	calls      map[string]int                        // requests per route; guarded by mu
	inspected  map[string]int                        // container inspects per ID or name asked; guarded by mu
	stop       chan struct{}
}

// New starts a fake Docker on a unix socket in a fresh temporary directory; it stops when the test
// ends.
func New(t testing.TB) *Docker {
	t.Helper()
	dir, err := os.MkdirTemp("", "fd") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatalf("fake docker: %v", err)
	}
	d := &Docker{path: filepath.Join(dir, "docker.sock"), containers: map[string]*Container{}, images: map[string]map[string]string{}, drivers: map[string]string{},
		networks: map[string]*Network{}, addrs: map[string]string{},
		faults: map[string]Fault{}, streams: map[chan events.Message]chan struct{}{},
		calls: map[string]int{}, inspected: map[string]int{}, stop: make(chan struct{})}
	l, err := net.Listen("unix", d.path)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("fake docker: %v", err)
	}
	m := http.NewServeMux()
	for route, h := range map[string]http.HandlerFunc{
		RoutePing:       d.ping,
		RouteNetworks:   d.networkList,
		RouteNetwork:    d.network,
		RouteContainers: d.list,
		RouteInspect:    d.inspect,
		RouteEvents:     d.events,
		RouteImage:      d.image,
	} {
		m.HandleFunc(route, d.wrap(route, h))
	}
	d.srv = &http.Server{Handler: m}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = d.srv.Serve(l)
	}()
	t.Cleanup(func() {
		close(d.stop)
		_ = d.srv.Close()
		<-served
		os.RemoveAll(dir)
	})
	return d
}

// Host is the address in the form the plugin's --docker-host-path takes: unix:///path.
func (d *Docker) Host() string { return "unix://" + d.path }

// AddContainer adds or replaces a container.
func (d *Docker) AddContainer(c Container) {
	d.mu.Lock()
	defer d.mu.Unlock()
	labels := maps.Clone(d.images[c.Image])
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, c.Labels)
	c.Labels = labels
	c.Networks = maps.Clone(c.Networks)
	d.containers[c.ID] = &c
}

// SetNetworkDriver makes network id one of driver (every network is a cilium one unless set).
func (d *Docker) SetNetworkDriver(id, driver string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.drivers[id] = driver
}

// AddImage adds an image with the given labels, which containers made from it (Container.Image) get.
func (d *Docker) AddImage(id string, labels map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.images[id] = maps.Clone(labels)
}

// RemoveContainer forgets a container, as docker rm does; the endpoints of its networks go with it
// unless the test lists them on the network as stale.
func (d *Docker) RemoveContainer(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.containers, id)
}

// AddNetwork adds or replaces a network GET /networks lists.
func (d *Docker) AddNetwork(n Network) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n.Aux = maps.Clone(n.Aux)
	n.Endpoints = slices.Clone(n.Endpoints)
	d.networks[n.ID] = &n
}

// RemoveNetwork forgets a network.
func (d *Docker) RemoveNetwork(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.networks, id)
}

// SetAddress sets the IPv4 address (CIDR form) the network inspect shows for a container's endpoint.
func (d *Docker) SetAddress(endpointID, cidr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs[endpointID] = cidr
}

// StartContainer marks the container running and emits what dockerd emits at a start: a network
// connect event for each of its networks, then its start event (TestFakeDockerContract).
func (d *Docker) StartContainer(id string) {
	d.mu.Lock()
	var nets []string
	if c, ok := d.containers[id]; ok {
		c.Running = true
		nets = slices.Sorted(maps.Keys(c.Networks))
	}
	d.mu.Unlock()
	for _, nid := range nets {
		d.EmitConnect(nid, id)
	}
	d.EmitStart(id)
}

// EmitStart sends a container start event to every open event stream.
func (d *Docker) EmitStart(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := ""
	if c, ok := d.containers[id]; ok {
		name = c.Name
	}
	now := time.Now()
	//nolint:staticcheck // Status is deprecated, but the engines this fake stands for (API 1.41) still send it.
	m := events.Message{Status: "start", ID: id, Type: events.ContainerEventType, Action: events.ActionStart,
		Actor: events.Actor{ID: id, Attributes: map[string]string{"name": name}}, Scope: "local",
		Time: now.Unix(), TimeNano: now.UnixNano()}
	for ch := range d.streams {
		select {
		case ch <- m:
		default: // the stream's buffer is full: the event is lost, as with a slow reader
		}
	}
}

// EmitConnect sends the network connect event of container id joining network nid, as docker network
// connect does, to every open event stream.
func (d *Docker) EmitConnect(nid, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	//nolint:staticcheck // Status is deprecated, but the engines this fake stands for (API 1.41) still send it.
	m := events.Message{Status: "connect", ID: nid, Type: events.NetworkEventType, Action: events.ActionConnect,
		Actor: events.Actor{ID: nid, Attributes: map[string]string{"container": id, "name": nid[:min(12, len(nid))], "type": "cilium"}},
		Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano()}
	for ch := range d.streams {
		select {
		case ch <- m:
		default:
		}
	}
}

// BreakEvents ends every open event stream; clients see the stream fail.
func (d *Docker) BreakEvents() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for ch, brk := range d.streams {
		close(brk)
		delete(d.streams, ch)
	}
}

// EventStreams returns how many event streams are open.
func (d *Docker) EventStreams() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.streams)
}

// Calls returns how many requests matched route.
func (d *Docker) Calls(route string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[route]
}

// Inspects returns how many container inspects asked for id (an ID or a name, as asked).
func (d *Docker) Inspects(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inspected[id]
}

// SetFault makes route slow or hang; the zero Fault clears it.
func (d *Docker) SetFault(route string, f Fault) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults[route] = f
}

func (d *Docker) wrap(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.calls[route]++
		f := d.faults[route]
		d.mu.Unlock()
		if route != RoutePing && !versionRe.MatchString(r.PathValue("version")) {
			http.NotFound(w, r)
			return
		}
		if f.Latency > 0 {
			t := time.NewTimer(f.Latency)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			case <-d.stop:
				return
			}
		}
		if f.Hang {
			select {
			case <-r.Context().Done():
			case <-d.stop:
			}
			return
		}
		h(w, r)
	}
}
