package hubble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultSocket is where cilium-agent serves Hubble (--hubble-socket-path).
const DefaultSocket = "/var/run/cilium/hubble.sock"

// ErrUnreachable is wrapped when nothing answers on the Hubble socket (the agent is down, or runs
// without --enable-hubble).
var ErrUnreachable = errors.New("hubble not reachable")

// The observer service's methods (observer.proto).
const (
	methodGetFlows     = "/observer.Observer/GetFlows"
	methodServerStatus = "/observer.Observer/ServerStatus"
)

// Client reads flows from one Hubble server.
type Client struct {
	socket  string
	timeout time.Duration
	conn    *conn
}

// New returns a client for the Hubble server on the unix socket path. It does not connect yet; every
// call is bounded by timeout (a --follow stream only by its context).
func New(path string, timeout time.Duration) (*Client, error) {
	if path == "" {
		return nil, errors.New("hubble socket: empty path")
	}
	return &Client{socket: path, timeout: timeout, conn: newConn(path)}, nil
}

// Close releases the connection.
func (c *Client) Close() error { c.conn.close(); return nil }

// Status is what the Hubble server says of itself.
type Status struct {
	Flows, MaxFlows uint64
	Seen            uint64
	Uptime          time.Duration
	Version         string
}

// ServerStatus asks the server for its flow buffer and version.
func (c *Client) ServerStatus(ctx context.Context) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	s, err := c.conn.call(ctx, methodServerStatus, nil) // ServerStatusRequest has no fields
	if err != nil {
		return Status{}, c.classify("server status", err)
	}
	defer s.close()
	msg, err := s.recv()
	if err != nil {
		return Status{}, c.classify("server status", err)
	}
	var st Status
	err = fields(msg, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			st.Flows = v
		case num == 2 && typ == protowire.VarintType:
			st.MaxFlows = v
		case num == 3 && typ == protowire.VarintType:
			st.Seen = v
		case num == 4 && typ == protowire.VarintType:
			st.Uptime = time.Duration(v)
		case num == 8 && typ == protowire.BytesType:
			st.Version = string(bs)
		}
		return nil
	})
	if err != nil {
		return Status{}, fmt.Errorf("hubble server status: decode: %w", err)
	}
	return st, nil
}

// Query selects flows.
type Query struct {
	// Containers are container names ("app2", any namespace) or namespace/name ("shop/web"): flows
	// from or to any of them. Empty: every flow.
	Containers []string
	// Verdict is "" (any), "FORWARDED", "DROPPED", … (flow.Verdict names).
	Verdict string
	// Last is how many of the newest buffered flows to read (0: all the buffer holds).
	Last uint64
	// Since leaves out older flows (zero: no bound).
	Since time.Time
	// Follow keeps the stream open for new flows until the context is done.
	Follow bool
}

// ParseVerdict checks a verdict name, case-insensitively, and returns its canonical form.
func ParseVerdict(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	v, ok := flowpb.Verdict_value[strings.ToUpper(s)]
	if !ok || v == 0 {
		return "", fmt.Errorf("verdict %q: want one of FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED", s)
	}
	return flowpb.Verdict_name[v], nil
}

// flowsRequest is observer.GetFlowsRequest: the fields the plugin sets.
type flowsRequest struct {
	Number    uint64                 // 1
	Follow    bool                   // 3
	Whitelist []*flowpb.FlowFilter   // 6
	Since     *timestamppb.Timestamp // 7
}

// marshal encodes the request as observer.proto numbers its fields.
func (r *flowsRequest) marshal() ([]byte, error) {
	var b []byte
	if r.Number != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, r.Number)
	}
	if r.Follow {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	for _, f := range r.Whitelist {
		m, err := proto.Marshal(f)
		if err != nil {
			return nil, err
		}
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	if r.Since != nil {
		m, err := proto.Marshal(r.Since)
		if err != nil {
			return nil, err
		}
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b, nil
}

// request builds the observer request: per container one filter on either side, the verdict in each.
func (q Query) request() (*flowsRequest, error) {
	req := &flowsRequest{Follow: q.Follow, Number: q.Last}
	if !q.Since.IsZero() {
		req.Since = timestamppb.New(q.Since)
	}
	var verdicts []flowpb.Verdict
	if q.Verdict != "" {
		v, err := ParseVerdict(q.Verdict)
		if err != nil {
			return nil, err
		}
		verdicts = []flowpb.Verdict{flowpb.Verdict(flowpb.Verdict_value[v])}
	}
	if len(q.Containers) == 0 {
		if verdicts != nil {
			req.Whitelist = []*flowpb.FlowFilter{{Verdict: verdicts}}
		}
		return req, nil
	}
	for _, name := range q.Containers {
		sel, err := selector(name)
		if err != nil {
			return nil, err
		}
		req.Whitelist = append(req.Whitelist,
			&flowpb.FlowFilter{SourcePod: []string{sel}, Verdict: verdicts},
			&flowpb.FlowFilter{DestinationPod: []string{sel}, Verdict: verdicts})
	}
	return req, nil
}

// selector turns a container name into Hubble's pod filter. Hubble reads a bare name as
// "default/<prefix>"; "/<name>" is any namespace. The filter is a prefix: Query.matches keeps exact names.
func selector(name string) (string, error) {
	ns, n, ok := strings.Cut(name, "/")
	if !ok {
		ns, n = "", name
	}
	if n == "" || strings.Contains(n, "/") {
		return "", fmt.Errorf("container %q: want NAME or NAMESPACE/NAME", name)
	}
	return ns + "/" + n, nil
}

// matches reports whether f is from or to one of the query's containers by exact name.
func (q Query) matches(f Flow) bool {
	if len(q.Containers) == 0 {
		return true
	}
	for _, name := range q.Containers {
		if f.Source.is(name) || f.Destination.is(name) {
			return true
		}
	}
	return false
}

// Flows streams the flows q selects to fn, oldest first, until the buffer is read (or, with Follow,
// until ctx is done) or fn returns an error, which Flows returns.
func (c *Client) Flows(ctx context.Context, q Query, fn func(Flow) error) error {
	req, err := q.request()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !q.Follow {
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	msg, err := req.marshal()
	if err != nil {
		return fmt.Errorf("hubble get flows: encode: %w", err)
	}
	s, err := c.conn.call(ctx, methodGetFlows, msg)
	if err != nil {
		return c.classify("get flows", err)
	}
	defer s.close()
	for {
		b, err := s.recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if q.Follow && ctx.Err() != nil {
				return nil // the caller ended the stream
			}
			return c.classify("get flows", err)
		}
		pf, node, err := flowResponse(b)
		if err != nil {
			return fmt.Errorf("hubble get flows: decode: %w", err)
		}
		if pf == nil {
			continue // node status, lost events
		}
		f := FromProto(pf, node)
		if !q.matches(f) {
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
}

// flowResponse decodes observer.GetFlowsResponse: its flow (nil for the other kinds) and node name.
func flowResponse(b []byte) (*flowpb.Flow, string, error) {
	var (
		f    *flowpb.Flow
		node string
	)
	err := fields(b, func(num protowire.Number, typ protowire.Type, _ uint64, bs []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			f = &flowpb.Flow{}
			return proto.Unmarshal(bs, f)
		case num == 1000 && typ == protowire.BytesType:
			node = string(bs)
		}
		return nil
	})
	return f, node, err
}

func (c *Client) classify(op string, err error) error {
	var re *rpcError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &re) && re.code == codeDeadlineExceeded:
		return fmt.Errorf("hubble %s at %s: no answer within %s: %w", op, c.socket, c.timeout, err)
	case errors.As(err, &re) && re.code == codeUnimplemented:
		return fmt.Errorf("hubble %s at %s: not served there: %w", op, c.socket, err)
	case re == nil && !errors.Is(err, context.Canceled), errors.As(err, &re) && re.code == codeUnavailable:
		// no answer at all: nothing listens on the socket, or it went away
		return fmt.Errorf("hubble %s at %s: %w (is cilium-agent up with --enable-hubble?): %w", op, c.socket, ErrUnreachable, err)
	}
	return fmt.Errorf("hubble %s at %s: %w", op, c.socket, err)
}
