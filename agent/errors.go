package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/go-openapi/runtime"
)

var (
	// ErrNotFound is returned when the agent has no such endpoint or address.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when the address or endpoint is already in use.
	ErrConflict = errors.New("already in use")
	// ErrExists is returned when an endpoint create names an attachment the agent has an endpoint for.
	ErrExists = errors.New("endpoint exists")
	// ErrUnreachable is returned when nothing answers on the agent's socket.
	ErrUnreachable = errors.New("cilium-agent not reachable")
	// ErrNoExpirationTimer is returned by an endpoint create whose address expiration UUID the agent
	// has no timer for: it restarted (and forgot the allocation) since the address was allocated.
	ErrNoExpirationTimer = errors.New("cilium-agent has no expiration timer for the address")
)

// coder is implemented by the generated response errors and by runtime.APIError.
type coder interface{ Code() int }

// statusCode returns the HTTP status of an API error, or 0 when the error is not an HTTP answer.
func statusCode(err error) int {
	var c coder
	if errors.As(err, &c) {
		return c.Code()
	}
	var apiErr *runtime.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	return 0
}

// classify turns a failed call into an error that says what happened in words a Docker user can act on.
func (c *Client) classify(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case isUnreachable(err):
		return fmt.Errorf("%w at %s (%s): %w", ErrUnreachable, c.addr, op, unwrapOp(err))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("cilium-agent at %s did not answer %s in time: %w", c.addr, op, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", op, err)
	}
	switch statusCode(err) {
	case 404:
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case 409:
		return fmt.Errorf("%s: %w", op, ErrConflict)
	}
	return fmt.Errorf("cilium-agent %s: %w", op, err)
}

func isUnreachable(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// unwrapOp keeps the innermost system error, which is the part of a dial error a user needs.
func unwrapOp(err error) error {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err
	}
	return err
}
