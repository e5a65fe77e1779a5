package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	clientapi "github.com/cilium/cilium/api/v1/client"
	ciliumclient "github.com/cilium/cilium/pkg/client"
	"github.com/go-openapi/strfmt"
)

// Timeouts bounds every call to the agent.
type Timeouts struct {
	// Call bounds short calls: config, IPAM, endpoint get, delete and label patch.
	Call time.Duration
	// Create bounds an endpoint create's request, which waits for the first BPF regeneration; a create
	// waiting for a free slot among ParallelCreates gives up when no create was answered for as long.
	Create time.Duration
	// ParallelCreates bounds the endpoint creates in flight: the agent builds each endpoint's datapath
	// before it answers, and its API rate limiter queues (then refuses) what exceeds its own bound.
	ParallelCreates int
	// Startup is how long after New a call marked with AwaitStartup waits for an agent that is not up
	// yet (nothing listens on its socket) instead of failing at once; zero (not defaulted): never.
	Startup time.Duration
}

// DefaultTimeouts are used for zero Call, Create and ParallelCreates fields. Create outlasts the agent's
// own API rate limiter, which by default holds an endpoint create up to 60 s (max-wait-duration) before
// it builds it: with 30 s, 1 of 100 starts of a burst on an agent with its defaults failed.
var DefaultTimeouts = Timeouts{Call: 10 * time.Second, Create: 90 * time.Second, ParallelCreates: 4}

// Client talks to one cilium-agent.
type Client struct {
	addr      string
	api       *clientapi.CiliumAPI
	timeouts  Timeouts
	creates   *createQueue      // the endpoint creates in flight, and those waiting for a slot
	bootUntil time.Time         // calls marked with AwaitStartup wait for the agent until then
	seen      atomic.Bool       // the agent answered once: it is up, and a later absence is an outage
	observe   Observer          // nil: nobody listens
	limited   func(call string) // nil: nobody listens
}

type awaitStartupKey struct{}

// AwaitStartup marks the calls made with ctx as ones that, while the process is young (Timeouts.Startup),
// wait for an agent that is not up yet instead of failing at once: at boot, restart-policy containers
// start while the agent (a container of the same dockerd, in the compose layout) is still coming up.
func AwaitStartup(ctx context.Context) context.Context {
	return context.WithValue(ctx, awaitStartupKey{}, true)
}

// awaitsAgent reports whether a call made with ctx that found no agent should try again: only while
// the process is young and the agent has never answered it (not up yet, as at boot). An agent that
// answered once and is gone now is down, and calls fail fast.
func (c *Client) awaitsAgent(ctx context.Context) bool {
	marked, _ := ctx.Value(awaitStartupKey{}).(bool)
	return marked && !c.seen.Load() && time.Now().Before(c.bootUntil)
}

// New returns a client for the agent API at addr (for example unix:///var/run/cilium/cilium.sock).
// It does not contact the agent: the agent may come up later.
func New(addr string, t Timeouts, opts ...Option) (*Client, error) {
	rt, err := ciliumclient.NewRuntime(ciliumclient.WithHost(addr))
	if err != nil {
		return nil, fmt.Errorf("cilium-agent address %q: %w", addr, err)
	}
	if t.Call <= 0 {
		t.Call = DefaultTimeouts.Call
	}
	if t.Create <= 0 {
		t.Create = DefaultTimeouts.Create
	}
	if t.ParallelCreates <= 0 {
		t.ParallelCreates = DefaultTimeouts.ParallelCreates
	}
	if t.Startup < 0 {
		t.Startup = 0
	}
	c := &Client{addr: addr, api: clientapi.New(rt, strfmt.Default), timeouts: t,
		creates: newCreateQueue(t.ParallelCreates), bootUntil: time.Now().Add(t.Startup)}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Addr is the agent address this client talks to.
func (c *Client) Addr() string { return c.addr }

// Observer is told of every agent call when it ends: the call's name (one of a fixed set, such as
// "create endpoint"), how long it took, retries included, and its error.
type Observer func(call string, took time.Duration, err error)

// Option configures a Client.
type Option func(*Client)

// WithObserver has o told of every call.
func WithObserver(o Observer) Option { return func(c *Client) { c.observe = o } }

// WithRateLimitObserver has f told of every rate-limit answer (HTTP 429) of the agent, by call name;
// each is retried within the call's deadline.
func WithRateLimitObserver(f func(call string)) Option { return func(c *Client) { c.limited = f } }

// startupPoll is how often a call that awaits the agent at startup tries again.
const startupPoll = 200 * time.Millisecond

// do runs fn under a deadline of at most d, retrying rate-limit answers (429) and 503 with jittered
// exponential backoff while the deadline allows. A call marked with AwaitStartup that finds no agent
// tries again until the agent answers or the startup window ends. call names the call (for the
// observer); arg, when not empty, what it acts on (for the error message).
func (c *Client) do(ctx context.Context, d time.Duration, call, arg string, fn func(ctx context.Context) error) (err error) {
	if c.observe != nil {
		defer func(start time.Time) { c.observe(call, time.Since(start), err) }(time.Now())
	}
	op := call
	if arg != "" {
		op += " " + arg
	}
	for {
		err := c.attempt(ctx, d, call, op, fn)
		if !errors.Is(err, ErrUnreachable) {
			c.seen.Store(true) // it answered, even if with an error
		}
		if !errors.Is(err, ErrUnreachable) || !c.awaitsAgent(ctx) {
			return err
		}
		t := time.NewTimer(startupPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (c *Client) attempt(ctx context.Context, d time.Duration, name, op string, call func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	backoff := 50 * time.Millisecond
	var refused error // the agent's last 429 or 503: what a retry cut short by the deadline reports
	for {
		err := call(ctx)
		code := statusCode(err)
		if err != nil && code == 0 && refused != nil && ctx.Err() != nil {
			return c.classify(op, refused)
		}
		if err == nil || (code != 429 && code != 503) {
			return c.classify(op, err)
		}
		refused = err
		if code == 429 && c.limited != nil {
			c.limited(name)
		}
		wait := backoff/2 + rand.N(backoff)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return c.classify(op, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return c.classify(op, err)
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
