package dockertest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func (d *Docker) ping(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Api-Version", APIVersion)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "OK")
}

// network answers GET /networks/{id}: a network added with AddNetwork, by ID or name (or its
// InspectStatus), or any other ID as a cilium network. A starting or stopped container's endpoint is
// listed under "ep-<endpoint ID>", a running or paused one's under its container ID, as dockerd does;
// a container without an endpoint there (created, or stopped: dockerd deletes the endpoint) is not.
func (d *Docker) network(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ok := d.networks[id]
	for _, byName := range d.networks {
		if !ok && byName.Name == id {
			n, ok = byName, true
		}
	}
	if !ok {
		n = &Network{ID: id, Name: id[:min(12, len(id))]}
	}
	if n.InspectStatus != 0 {
		writeError(w, n.InspectStatus, fmt.Sprintf("network %s: inspect fails with status %d", id, n.InspectStatus))
		return
	}
	writeJSON(w, http.StatusOK, d.inspectLocked(n))
}

// networkList answers GET /networks with the networks added with AddNetwork.
func (d *Docker) networkList(w http.ResponseWriter, _ *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []network.Summary{}
	for _, id := range slices.Sorted(maps.Keys(d.networks)) {
		nw := d.inspectLocked(d.networks[id])
		nw.Containers = map[string]network.EndpointResource{} // the list leaves them out
		out = append(out, nw)
	}
	writeJSON(w, http.StatusOK, out)
}

func (d *Docker) inspectLocked(n *Network) network.Inspect {
	drv, ipamDrv := n.Driver, n.IPAMDriver
	if drv == "" {
		drv = "cilium"
	}
	if ipamDrv == "" {
		ipamDrv = "cilium"
	}
	subnets := n.Subnets
	if len(subnets) == 0 {
		subnets = []string{"0.0.0.0/0"}
	}
	nw := network.Inspect{ID: n.ID, Name: n.Name, Driver: drv, Scope: "local", Internal: n.Internal,
		IPAM: network.IPAM{Driver: ipamDrv}, Containers: map[string]network.EndpointResource{}}
	for i, s := range subnets {
		cfg := network.IPAMConfig{Subnet: s}
		if i == 0 {
			cfg.AuxAddress = maps.Clone(n.Aux)
		}
		nw.IPAM.Config = append(nw.IPAM.Config, cfg)
	}
	if drv, ok := d.drivers[n.ID]; ok {
		nw.Driver = drv
	}
	for _, ep := range n.Endpoints {
		key := "ep-" + ep.ID
		if ep.Container != "" {
			key = ep.Container
		}
		nw.Containers[key] = network.EndpointResource{Name: ep.Name, EndpointID: ep.ID, IPv4Address: ep.IPv4, IPv6Address: ep.IPv6}
	}
	for _, c := range d.containers {
		eid, ok := c.Networks[n.ID]
		if !ok || eid == "" {
			continue
		}
		key := "ep-" + eid
		if st := state(c); st == container.StateRunning || st == container.StatePaused {
			key = c.ID
		}
		nw.Containers[key] = network.EndpointResource{Name: c.Name, EndpointID: eid, IPv4Address: d.addrs[eid]}
	}
	return nw
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
		if st := state(c); st != container.StateRunning && st != container.StatePaused && !all {
			continue
		}
		if len(names) > 0 && !slices.ContainsFunc(names, func(re *regexp.Regexp) bool { return re.MatchString("/" + c.Name) }) {
			continue
		}
		s := container.Summary{ID: c.ID, Names: []string{"/" + c.Name}, Labels: c.Labels, State: state(c), ImageID: c.Image,
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
	d.inspected[id]++
	for _, c := range d.containers {
		if c.ID != id && c.Name != id {
			continue
		}
		writeJSON(w, http.StatusOK, container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{ID: c.ID, Name: "/" + c.Name, Image: c.Image,
				State: &container.State{Status: state(c), Running: c.Running}},
			Config:          &container.Config{Labels: c.Labels},
			NetworkSettings: &container.NetworkSettings{Networks: endpointSettings(c)},
		})
		return
	}
	writeError(w, http.StatusNotFound, "No such container: "+id)
}

// image answers GET /images/{id}/json.
func (d *Docker) image(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.images[id]
	if !ok {
		writeError(w, http.StatusNotFound, "No such image: "+id)
		return
	}
	writeJSON(w, http.StatusOK, image.InspectResponse{ID: id, Config: &dockerspec.DockerOCIImageConfig{
		ImageConfig: ocispec.ImageConfig{Labels: l}}})
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
	if c.State != "" {
		return container.ContainerState(c.State)
	}
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
	_, _ = w.Write(b) // a write error means the client hung up: nothing left to tell it
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg}) // as above
}
