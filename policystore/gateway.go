package policystore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The store speaks etcd's v3 API through the JSON gateway every etcd server (3.4 and later) serves on
// its client URLs (POST /v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/watch), with net/http. The
// etcd client module (gRPC, zap, protobuf) would cost every process that links this package, the
// plugin daemon too, about 8 MB of resident memory from package initialisation alone.

// maxReply caps one answer of the gateway: etcd's default request limit is 1.5 MiB per value.
const maxReply = 64 << 20

// gateway is the HTTP side of the store: the endpoints, tried in turn.
type gateway struct {
	hc        *http.Client
	endpoints []string

	mu   sync.Mutex
	good int // guarded by mu: the endpoint to try first, the last that answered
}

func newGateway(c Config) (*gateway, error) {
	t, err := c.tls()
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:                 nil, // etcd is the cluster's own: no HTTP proxy from the environment
		DialContext:           (&net.Dialer{Timeout: c.Timeout, KeepAlive: 10 * time.Second}).DialContext,
		TLSClientConfig:       t,
		TLSHandshakeTimeout:   c.Timeout,
		ResponseHeaderTimeout: c.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       time.Minute,
	}
	eps := make([]string, len(c.Endpoints))
	for i, e := range c.Endpoints {
		eps[i] = strings.TrimSuffix(e, "/")
	}
	return &gateway{hc: &http.Client{Transport: tr}, endpoints: eps}, nil
}

func (g *gateway) close() { g.hc.CloseIdleConnections() }

// apiError is an error answer of etcd (a status other than 200).
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Code    int    `json:"code"` // the gRPC code
}

func (e *apiError) Error() string {
	return fmt.Sprintf("etcd: %s (http %d, code %d)", e.Message, e.Status, e.Code)
}

// post sends req as JSON to path on the first endpoint that answers and returns the response, whose
// body the caller closes. An endpoint that cannot be reached is skipped; an error answer is returned.
func (g *gateway) post(ctx context.Context, path string, req any) (*http.Response, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	first := g.good
	g.mu.Unlock()
	var errs []error
	for i := range g.endpoints {
		n := (first + i) % len(g.endpoints)
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, g.endpoints[n]+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		hr.Header.Set("Content-Type", "application/json")
		resp, err := g.hc.Do(hr)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		g.mu.Lock()
		g.good = n
		g.mu.Unlock()
		if resp.StatusCode != http.StatusOK {
			defer resp.Body.Close()
			e := &apiError{Status: resp.StatusCode}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			if json.Unmarshal(b, e) != nil || e.Message == "" {
				e.Message = strings.TrimSpace(string(b))
			}
			return nil, e
		}
		return resp, nil
	}
	return nil, errors.Join(errs...)
}

// call is post for a unary call: the answer decoded into resp.
func (g *gateway) call(ctx context.Context, path string, req, resp any) error {
	r, err := g.post(ctx, path, req)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, maxReply+1))
	if err != nil {
		return err
	}
	if len(b) > maxReply {
		return fmt.Errorf("etcd answer larger than %d bytes", maxReply)
	}
	return json.Unmarshal(b, resp)
}

// The gateway's JSON: bytes as base64, int64 as decimal strings.

type int64s int64

func (n *int64s) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	*n = int64s(v)
	return err
}

type header struct {
	Revision int64s `json:"revision"`
}

type keyValue struct {
	Key         []byte `json:"key"`
	Value       []byte `json:"value"`
	ModRevision int64s `json:"mod_revision"`
}

type rangeRequest struct {
	Key      []byte `json:"key"`
	RangeEnd []byte `json:"range_end,omitempty"`
}

type rangeResponse struct {
	Header header     `json:"header"`
	Kvs    []keyValue `json:"kvs"`
}

type putRequest struct {
	Key   []byte `json:"key"`
	Value []byte `json:"value"`
}

type putResponse struct {
	Header header `json:"header"`
}

type deleteRequest struct {
	Key []byte `json:"key"`
}

type deleteResponse struct {
	Header  header `json:"header"`
	Deleted int64s `json:"deleted"`
}

type watchCreate struct {
	Key           []byte `json:"key"`
	RangeEnd      []byte `json:"range_end"`
	StartRevision string `json:"start_revision"`
}

type watchRequest struct {
	Create watchCreate `json:"create_request"`
}

type watchEvent struct {
	Type string   `json:"type"` // "DELETE", or absent for a put
	Kv   keyValue `json:"kv"`
}

type watchMessage struct {
	Result *struct {
		Header          header       `json:"header"`
		Created         bool         `json:"created"`
		Canceled        bool         `json:"canceled"`
		CancelReason    string       `json:"cancel_reason"`
		CompactRevision int64s       `json:"compact_revision"`
		Events          []watchEvent `json:"events"`
	} `json:"result"`
	Error *apiError `json:"error"`
}

// prefixEnd is the end of the key range of every key starting with prefix (clientv3.GetPrefixRangeEnd).
func prefixEnd(prefix string) []byte {
	end := []byte(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0} // every key
}

// watch streams the messages of one watch of [key, end) from rev to f until ctx is done, the stream
// ends or f fails.
func (g *gateway) watch(ctx context.Context, key string, end []byte, rev int64, f func(*watchMessage) error) error {
	r, err := g.post(ctx, "/v3/watch", watchRequest{Create: watchCreate{Key: []byte(key), RangeEnd: end,
		StartRevision: strconv.FormatInt(rev, 10)}})
	if err != nil {
		return err
	}
	defer r.Body.Close()
	dec := json.NewDecoder(bufio.NewReader(r.Body))
	for {
		var m watchMessage
		if err := dec.Decode(&m); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return errors.New("etcd watch closed")
			}
			return fmt.Errorf("etcd watch: %w", err)
		}
		if err := f(&m); err != nil {
			return err
		}
	}
}
