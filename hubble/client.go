package hubble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	observerpb "github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultSocket is where cilium-agent serves Hubble (--hubble-socket-path).
const DefaultSocket = "/var/run/cilium/hubble.sock"

// ErrUnreachable is wrapped when nothing answers on the Hubble socket (the agent is down, or runs
// without --enable-hubble).
var ErrUnreachable = errors.New("hubble not reachable")

// Client reads flows from one Hubble server.
type Client struct {
	socket  string
	timeout time.Duration
	conn    *grpc.ClientConn
	obs     observerpb.ObserverClient
}

// New returns a client for the Hubble server on the unix socket path. It does not connect yet; every
// call is bounded by timeout (a --follow stream only by its context).
func New(path string, timeout time.Duration) (*Client, error) {
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("hubble socket %q: %w", path, err)
	}
	return &Client{socket: path, timeout: timeout, conn: conn, obs: observerpb.NewObserverClient(conn)}, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

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
	st, err := c.obs.ServerStatus(ctx, &observerpb.ServerStatusRequest{}, grpc.WaitForReady(false))
	if err != nil {
		return Status{}, c.classify("server status", err)
	}
	return Status{Flows: st.GetNumFlows(), MaxFlows: st.GetMaxFlows(), Seen: st.GetSeenFlows(),
		Uptime: time.Duration(st.GetUptimeNs()), Version: st.GetVersion()}, nil
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

// request builds the observer request: per container one filter on either side, the verdict in each.
func (q Query) request() (*observerpb.GetFlowsRequest, error) {
	req := &observerpb.GetFlowsRequest{Follow: q.Follow, Number: q.Last}
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
	stream, err := c.obs.GetFlows(ctx, req)
	if err != nil {
		return c.classify("get flows", err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if q.Follow && ctx.Err() != nil {
				return nil // the caller ended the stream
			}
			return c.classify("get flows", err)
		}
		pf := resp.GetFlow()
		if pf == nil {
			continue // node status, lost events
		}
		f := FromProto(pf, resp.GetNodeName())
		if !q.matches(f) {
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
}

func (c *Client) classify(op string, err error) error {
	switch status.Code(err) {
	case codes.Unavailable:
		return fmt.Errorf("hubble %s at %s: %w (is cilium-agent up with --enable-hubble?): %w", op, c.socket, ErrUnreachable, err)
	case codes.DeadlineExceeded:
		return fmt.Errorf("hubble %s at %s: no answer within %s: %w", op, c.socket, c.timeout, err)
	}
	return fmt.Errorf("hubble %s at %s: %w", op, c.socket, err)
}
