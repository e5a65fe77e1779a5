package hubble

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Hubble's observer API is gRPC: HTTP/2 (here without TLS, on the agent's unix socket) carrying
// length-prefixed protobuf messages, the status in the trailers. This file speaks exactly the two calls
// the plugin makes, over net/http, instead of linking grpc-go: the observer package's generated code
// carries the gRPC stubs in the same package, and grpc-go with it costs the plugin process about 5 MB
// of resident memory from its package initialisation alone, in every process, whether or not it reads
// flows. The messages are the observer package's (observer.proto field numbers); the flows inside are
// decoded with the flow package's generated types. The tests check it against the generated gRPC server.

// gRPC status codes the client tells apart (google.golang.org/grpc/codes).
const (
	codeOK               = 0
	codeDeadlineExceeded = 4
	codeUnimplemented    = 12
	codeUnavailable      = 14
)

// rpcError is a gRPC status other than OK.
type rpcError struct {
	code int
	msg  string
}

func (e *rpcError) Error() string { return fmt.Sprintf("rpc status %d: %s", e.code, e.msg) }

// maxMessage bounds one message of the server: a flow is a few KiB.
const maxMessage = 16 << 20

// conn is an HTTP/2 client (prior knowledge, no TLS) on a unix socket.
type conn struct {
	hc *http.Client
}

func newConn(path string) *conn {
	tr := &http.Transport{
		Protocols: new(http.Protocols),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &conn{hc: &http.Client{Transport: tr}}
}

func (c *conn) close() { c.hc.CloseIdleConnections() }

// call starts method with the request message and returns the stream of response messages.
func (c *conn) call(ctx context.Context, method string, msg []byte) (*stream, error) {
	body := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(body[1:5], uint32(len(msg)))
	copy(body[5:], msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://localhost"+method, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/grpc+proto")
	req.Header.Set("Te", "trailers")
	if dl, ok := ctx.Deadline(); ok {
		req.Header.Set("Grpc-Timeout", strconv.FormatInt(max(time.Until(dl).Milliseconds(), 1), 10)+"m")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &rpcError{code: codeUnavailable, msg: "HTTP " + resp.Status}
	}
	if err := status(resp.Header); err != nil { // a trailers-only answer: the status is in the headers
		resp.Body.Close()
		return nil, err
	}
	return &stream{resp: resp, r: bufio.NewReader(resp.Body)}, nil
}

// stream reads the messages of one call.
type stream struct {
	resp *http.Response
	r    *bufio.Reader
}

// recv returns the next message, or io.EOF after the last one of a call that ended OK.
func (s *stream) recv() ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(s.r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			if err := status(s.resp.Trailer); err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		return nil, err
	}
	if hdr[0] != 0 {
		return nil, errors.New("compressed message: not asked for")
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxMessage {
		return nil, fmt.Errorf("message of %d bytes: over %d", n, maxMessage)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(s.r, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

func (s *stream) close() { s.resp.Body.Close() }

// status reads a gRPC status from headers or trailers: nil for OK or none.
func status(h http.Header) error {
	v := h.Get("Grpc-Status")
	if v == "" {
		return nil
	}
	code, err := strconv.Atoi(v)
	if err != nil {
		return &rpcError{code: codeUnavailable, msg: "bad grpc-status " + strconv.Quote(v)}
	}
	if code == codeOK {
		return nil
	}
	return &rpcError{code: code, msg: h.Get("Grpc-Message")}
}

// fields calls fn for every field of a protobuf message; fn gets the field number, its wire type
// and its value: the varint, or the bytes of a length-delimited field.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var (
			v  uint64
			bs []byte
		)
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, v, bs); err != nil {
			return err
		}
	}
	return nil
}
