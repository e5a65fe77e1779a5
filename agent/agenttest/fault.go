package agenttest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/cilium/cilium/api/v1/models"
)

// Routes of the API the fake serves, as Go ServeMux patterns; use them with SetFault and RequestsTo.
const (
	RouteConfig         = "GET /v1/config"
	RouteHealthz        = "GET /v1/healthz"
	RouteAllocate       = "POST /v1/ipam"
	RouteClaim          = "POST /v1/ipam/{ip}"
	RouteRelease        = "DELETE /v1/ipam/{ip}"
	RoutePutEndpoint    = "PUT /v1/endpoint/{id}"
	RouteListEndpoints  = "GET /v1/endpoint"
	RouteGetEndpoint    = "GET /v1/endpoint/{id}"
	RouteDeleteEndpoint = "DELETE /v1/endpoint/{id}"
	RoutePatchLabels    = "PATCH /v1/endpoint/{id}/labels"
	RouteClusterNodes   = "GET /v1/cluster/nodes"
)

// Fault makes a route misbehave. The zero Fault is no fault.
type Fault struct {
	// Latency delays the answer (or, without AfterEffect, the work) by this long.
	Latency time.Duration
	// Status answers with this HTTP status and Body (a JSON string, as the agent sends errors)
	// instead of the real answer.
	Status int
	Body   string
	// Hang never answers: the request blocks until the client gives up or the agent stops.
	Hang bool
	// Disconnect closes the connection without an answer.
	Disconnect bool
	// AfterEffect carries the request out first and then applies the fault: the agent acted, but its
	// answer is late, wrong or lost.
	AfterEffect bool
	// Times is how many requests the fault hits before the route behaves again; 0 = all of them.
	Times int
}

// SetFault makes route (a Route* constant) misbehave as f says, replacing an earlier fault.
func (a *Agent) SetFault(route string, f Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults[route] = &f
}

// ClearFaults makes every route behave again.
func (a *Agent) ClearFaults() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.faults)
}

// answer is a handler's result: HTTP status and the value encoded as JSON (nil: no body).
type answer struct {
	code int
	body any
}

func errorAnswer(code int, msg string) answer { return answer{code: code, body: models.Error(msg)} }

func (a *Agent) mux() *http.ServeMux {
	m := http.NewServeMux()
	for route, h := range map[string]func(*http.Request, []byte) answer{
		RouteConfig:         a.getConfig,
		RouteHealthz:        a.getHealthz,
		RouteAllocate:       a.postIPAM,
		RouteClaim:          a.postIPAMIP,
		RouteRelease:        a.deleteIPAMIP,
		RoutePutEndpoint:    a.putEndpoint,
		RouteListEndpoints:  a.listEndpoints,
		RouteGetEndpoint:    a.getEndpoint,
		RouteDeleteEndpoint: a.deleteEndpoint,
		RoutePatchLabels:    a.patchLabels,
		RouteClusterNodes:   a.getClusterNodes,
	} {
		m.HandleFunc(route, a.wrap(route, h))
	}
	return m
}

// wrap records the request, applies the route's fault and writes the answer.
func (a *Agent) wrap(route string, h func(*http.Request, []byte) answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.requests = append(a.requests, Request{Route: route, Method: r.Method, Path: r.URL.Path,
			Query: r.URL.Query(), Header: r.Header.Clone(), Body: bytes.Clone(body)})
		f := a.takeFaultLocked(route)
		stop := a.stop
		a.inFlight[route]++
		a.maxInFlight[route] = max(a.maxInFlight[route], a.inFlight[route])
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			a.inFlight[route]--
			a.mu.Unlock()
		}()

		if f.AfterEffect {
			ans := h(r, body)
			if !a.misbehave(w, r, f, stop) {
				writeAnswer(w, ans)
			}
			return
		}
		if a.misbehave(w, r, f, stop) {
			return
		}
		writeAnswer(w, h(r, body))
	}
}

// takeFaultLocked returns the fault for one request of route and counts it.
func (a *Agent) takeFaultLocked(route string) Fault {
	f, ok := a.faults[route]
	if !ok {
		return Fault{}
	}
	out := *f
	if f.Times > 0 {
		if f.Times--; f.Times == 0 {
			delete(a.faults, route)
		}
	}
	return out
}

// misbehave applies f and reports whether it answered (or dropped) the request itself.
func (a *Agent) misbehave(w http.ResponseWriter, r *http.Request, f Fault, stop <-chan struct{}) bool {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-stop:
			return true
		}
	}
	switch {
	case f.Hang:
		select {
		case <-r.Context().Done():
		case <-stop:
		}
		return true
	case f.Disconnect:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return true
	case f.Status != 0:
		msg := f.Body
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		writeAnswer(w, errorAnswer(f.Status, msg))
		return true
	}
	return false
}

func writeAnswer(w http.ResponseWriter, ans answer) {
	if ans.body == nil {
		w.WriteHeader(ans.code)
		return
	}
	b, err := json.Marshal(ans.body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.code)
	_, _ = w.Write(b) // a write error means the client hung up: nothing left to tell it
}

// deepCopy copies a model through JSON, which is how it would travel.
func deepCopy[T any](v *T) *T {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}
