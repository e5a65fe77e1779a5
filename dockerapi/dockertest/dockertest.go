// Package dockertest is a fake Docker Engine API for tests: the few calls the plugin makes (ping,
// network inspect, filtered container list, container inspect, the event stream) on a unix socket,
// answering as Docker API 1.41 does, with knobs to make routes slow or hang and to break the stream.
package dockertest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// APIVersion is the API version the fake announces (Docker 20.10).
const APIVersion = "1.41"

// Routes, for SetFault.
const (
	RoutePing       = "GET /_ping"
	RouteNetwork    = "GET /{version}/networks/{id}"
	RouteContainers = "GET /{version}/containers/json"
	RouteInspect    = "GET /{version}/containers/{id}/json"
	RouteEvents     = "GET /{version}/events"
)

// versionRe matches the version segment of a versioned path, e.g. v1.41.
var versionRe = regexp.MustCompile(`^v1\.\d+$`)

// Container is a container the fake knows.
type Container struct {
	ID, Name string // Name without the leading slash
	Labels   map[string]string
	// Running is false for a container that is still starting (state "created").
	Running bool
	// Networks maps network ID to the container's endpoint ID on it.
	Networks map[string]string
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
	faults     map[string]Fault                      // guarded by mu
	streams    map[chan events.Message]chan struct{} // open event streams and their break channels; guarded by mu
	calls      map[string]int                        // requests per route; guarded by mu
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
	d := &Docker{path: filepath.Join(dir, "docker.sock"), containers: map[string]*Container{},
		faults: map[string]Fault{}, streams: map[chan events.Message]chan struct{}{},
		calls: map[string]int{}, stop: make(chan struct{})}
	l, err := net.Listen("unix", d.path)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("fake docker: %v", err)
	}
	m := http.NewServeMux()
	for route, h := range map[string]http.HandlerFunc{
		RoutePing:       d.ping,
		RouteNetwork:    d.network,
		RouteContainers: d.list,
		RouteInspect:    d.inspect,
		RouteEvents:     d.events,
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
	c.Labels = maps.Clone(c.Labels)
	c.Networks = maps.Clone(c.Networks)
	d.containers[c.ID] = &c
}

// StartContainer marks the container running and emits its start event.
func (d *Docker) StartContainer(id string) {
	d.mu.Lock()
	if c, ok := d.containers[id]; ok {
		c.Running = true
	}
	d.mu.Unlock()
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

func (d *Docker) ping(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Api-Version", APIVersion)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "OK")
}

// network answers GET /networks/{id}. A starting container is listed under "ep-<endpoint ID>", a
// running one under its container ID, as dockerd does.
func (d *Docker) network(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d.mu.Lock()
	defer d.mu.Unlock()
	nw := network.Inspect{ID: id, Name: id[:min(12, len(id))], Driver: "cilium", Scope: "local",
		Containers: map[string]network.EndpointResource{}}
	for _, c := range d.containers {
		eid, ok := c.Networks[id]
		if !ok {
			continue
		}
		key := "ep-" + eid
		if c.Running {
			key = c.ID
		}
		nw.Containers[key] = network.EndpointResource{Name: c.Name, EndpointID: eid}
	}
	writeJSON(w, http.StatusOK, nw)
}

// list answers GET /containers/json, honouring all and the name filter (a regexp on "/name").
func (d *Docker) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	args, err := filters.FromJSON(q.Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	all, _ := strconv.ParseBool(q.Get("all"))
	var names []*regexp.Regexp
	for _, n := range args.Get("name") {
		re, err := regexp.Compile(n)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		names = append(names, re)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []container.Summary{}
	for _, id := range slices.Sorted(maps.Keys(d.containers)) {
		c := d.containers[id]
		if !c.Running && !all {
			continue
		}
		if len(names) > 0 && !slices.ContainsFunc(names, func(re *regexp.Regexp) bool { return re.MatchString("/" + c.Name) }) {
			continue
		}
		s := container.Summary{ID: c.ID, Names: []string{"/" + c.Name}, Labels: c.Labels, State: state(c),
			NetworkSettings: &container.NetworkSettingsSummary{Networks: endpointSettings(c)}}
		out = append(out, s)
	}
	writeJSON(w, http.StatusOK, out)
}

// inspect answers GET /containers/{id}/json (by ID or name).
func (d *Docker) inspect(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.containers {
		if c.ID != id && c.Name != id {
			continue
		}
		writeJSON(w, http.StatusOK, container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{ID: c.ID, Name: "/" + c.Name,
				State: &container.State{Status: state(c), Running: c.Running}},
			Config:          &container.Config{Labels: c.Labels},
			NetworkSettings: &container.NetworkSettings{Networks: endpointSettings(c)},
		})
		return
	}
	writeError(w, http.StatusNotFound, "No such container: "+id)
}

// events streams container start events until the client leaves, BreakEvents or the fake stops.
func (d *Docker) events(w http.ResponseWriter, r *http.Request) {
	ch, brk := make(chan events.Message, 64), make(chan struct{})
	d.mu.Lock()
	d.streams[ch] = brk
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.streams, ch)
		d.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case m := <-ch:
			if err := enc.Encode(m); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		case <-brk:
			breakConn(w)
			return
		case <-r.Context().Done():
			return
		case <-d.stop:
			return
		}
	}
}

// breakConn drops the connection mid-stream, so the client's decoder fails.
func breakConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
		}
	}
}

func state(c *Container) container.ContainerState {
	if c.Running {
		return container.StateRunning
	}
	return container.StateCreated
}

func endpointSettings(c *Container) map[string]*network.EndpointSettings {
	out := map[string]*network.EndpointSettings{}
	for nid, eid := range c.Networks {
		out["net-"+nid[:min(12, len(nid))]] = &network.EndpointSettings{NetworkID: nid, EndpointID: eid}
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Api-Version", APIVersion)
	w.WriteHeader(code)
	w.Write(b)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
