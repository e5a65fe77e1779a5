package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"time"

	"github.com/sirupsen/logrus"
)

// MaxBody is the largest request body accepted; Docker's requests are a few kilobytes.
const MaxBody = 1 << 20

// contentType is what go-plugins-helpers and Docker's own plugins answer with; Docker ignores it.
const contentType = "application/vnd.docker.plugins.v1.2+json"

// Manifest is the Plugin.Activate answer: both protocols on this one socket.
const Manifest = `{"Implements":["NetworkDriver","IpamDriver"]}`

// errorBody is Docker's error shape. Docker reads "Err" from a non-200 answer for both protocols.
type errorBody struct {
	Err string
}

// ids are the fields logged with every request, when the request has them.
type ids struct {
	NetworkID, EndpointID, PoolID, Address string
}

// Handle registers fn for POST /<method> (for example "NetworkDriver.Join"). The body is read up to
// MaxBody, unknown fields are ignored, and fn's result is encoded as the answer or, on error, HTTP 500
// with {"Err": ...}. An empty body decodes as {} for a request type without fields (the capability
// calls, which Docker sends without a body); for any other it is refused with ErrEmptyBody, before fn
// runs: Docker never sends those calls empty on purpose (see ErrEmptyBody).
func Handle[Req, Resp any](s *Server, method string, fn func(ctx context.Context, req *Req) (*Resp, error)) {
	bodyless := takesNoBody[Req]()
	s.mux.HandleFunc("POST /"+method, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		body, err := readBody(w, r)
		if err == nil && len(body) == 0 && !bodyless {
			err = fmt.Errorf("%s: %w", method, ErrEmptyBody)
		}
		var req Req
		if err == nil && len(body) > 0 {
			if derr := json.Unmarshal(body, &req); derr != nil {
				err = fmt.Errorf("decode %s request: %w", method, derr)
			}
		}
		if err != nil {
			s.reply(w, method, body, start, http.StatusBadRequest, nil, err)
			return
		}
		resp, err := fn(r.Context(), &req)
		if err != nil {
			s.reply(w, method, body, start, http.StatusInternalServerError, nil, err)
			return
		}
		s.reply(w, method, body, start, http.StatusOK, resp, nil)
	})
}

// ErrEmptyBody answers a call that needs arguments but arrived without a body. Docker's plugin client
// (moby pkg/plugins, callWithRetry) retries a call whose connection broke, as when the plugin restarted
// in the middle of it, but it re-sends the request buffer the first attempt consumed: the retry reaches
// the new plugin process empty. Read as {}, it would fail on its missing IDs with a message that tells
// the user nothing, or, for a pool or address request, be served with defaults it never asked for.
var ErrEmptyBody = errors.New("the request arrived with an empty body, so it names nothing to act on: " +
	"dockerd re-sends a call with an empty body when its first attempt broke off, as when the plugin " +
	"restarted in the middle of it; the plugin did nothing: run the docker command again")

// takesNoBody tells whether a request type has no fields, so an empty body is the whole request.
func takesNoBody[Req any]() bool {
	t := reflect.TypeFor[Req]()
	return t.Kind() == reflect.Struct && t.NumField() == 0
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, fmt.Errorf("request body exceeds %d bytes", MaxBody)
	}
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return bytes.TrimSpace(body), nil
}

// reply writes the answer and logs the request once.
func (s *Server) reply(w http.ResponseWriter, method string, body []byte, start time.Time, code int, resp any, err error) {
	out := any(resp)
	if err != nil {
		out = errorBody{Err: err.Error()}
	} else if resp == nil {
		out = struct{}{}
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	if werr := json.NewEncoder(w).Encode(out); werr != nil {
		err = errors.Join(err, fmt.Errorf("write answer: %w", werr))
	}
	took := time.Since(start)
	if s.observe != nil {
		s.observe(method, took, err)
	}
	log := s.log.WithFields(logrus.Fields{"method": method, "duration": took.Round(time.Microsecond)})
	var id ids
	if json.Unmarshal(body, &id) == nil {
		for k, v := range map[string]string{"network": id.NetworkID, "endpoint": id.EndpointID, "pool": id.PoolID, "address": id.Address} {
			if v != "" {
				log = log.WithField(k, v)
			}
		}
	}
	if err != nil {
		log.WithError(err).Warn("request failed")
		return
	}
	log.Debug("request served")
}
