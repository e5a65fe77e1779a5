package dockerapi

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dockerclient "github.com/docker/docker/client"
)

// ErrNotFound is returned when Docker does not know the endpoint's container.
var ErrNotFound = errors.New("container not found")

// Container is what the plugin needs to know of a container.
type Container struct {
	ID, Name string
	Labels   map[string]string
	// Endpoints maps network ID to the container's endpoint ID on that network (not known at Join).
	Endpoints map[string]string
}

// Client is a Docker Engine API client with a deadline on every call.
type Client struct {
	c          *dockerclient.Client
	host       string
	timeout    time.Duration
	negotiated atomic.Bool
}

// New returns a client for the Docker API at host (for example unix:///var/run/docker.sock). It
// negotiates the API version on first use, under that call's deadline, so it works with Docker 20.10
// (API 1.41) up to the newest engines, which refuse old API versions.
func New(host string, timeout time.Duration) (*Client, error) {
	c, err := dockerclient.NewClientWithOpts(dockerclient.WithHost(host), dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker api at %q: %w", host, err)
	}
	return &Client{c: c, host: host, timeout: timeout}, nil
}

// Close releases the client's connections.
func (c *Client) Close() error { return c.c.Close() }

// ready negotiates the API version, once, under a deadline, before any call of the Docker library.
// Left to itself the library negotiates inside the first call, pinging under a mutex with that call's
// context: one call without a deadline (the event stream) against a dockerd that accepts connections
// but does not answer yet (a dockerd restoring its containers at boot) would hold every other call
// behind that mutex, Join's included, and Join's wait would keep dockerd from ever finishing its start.
// Pinging here, outside the mutex, and handing the library the answer keeps every call bounded.
func (c *Client) ready(ctx context.Context) error {
	if c.negotiated.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ping, err := c.c.Ping(ctx)
	if err != nil {
		return fmt.Errorf("docker api %s: negotiate api version: %w", c.host, err)
	}
	c.c.NegotiateAPIVersionPing(ping)
	c.negotiated.Store(true)
	return nil
}

// JoiningContainer finds the container that is joining networkID with endpointID. It must be safe to
// call from Join, while dockerd holds the container's lock: it reads the network (which lists the
// endpoint with the container's name) and then lists containers filtered by that exact name; it never
// inspects the container.
func (c *Client) JoiningContainer(ctx context.Context, networkID, endpointID string) (Container, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.ready(ctx); err != nil {
		return Container{}, err
	}
	nw, err := c.c.NetworkInspect(ctx, networkID, network.InspectOptions{})
	if err != nil {
		return Container{}, fmt.Errorf("docker api %s: inspect network %s: %w", c.host, networkID, err)
	}
	name := ""
	for _, ep := range nw.Containers {
		if ep.EndpointID == endpointID {
			name = ep.Name
			break
		}
	}
	if name == "" {
		return Container{}, fmt.Errorf("network %s lists no container for endpoint %s: %w", networkID, endpointID, ErrNotFound)
	}
	list, err := c.c.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("name", "^/"+regexp.QuoteMeta(name)+"$"))})
	if err != nil {
		return Container{}, fmt.Errorf("docker api %s: list container %q: %w", c.host, name, err)
	}
	for _, s := range list {
		for _, n := range s.Names {
			if n == "/"+name {
				return Container{ID: s.ID, Name: name, Labels: s.Labels}, nil
			}
		}
	}
	return Container{}, fmt.Errorf("container %q of endpoint %s: %w", name, endpointID, ErrNotFound)
}

// Inspect returns a started container with its endpoints. Never call it from Join.
func (c *Client) Inspect(ctx context.Context, id string) (Container, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.ready(ctx); err != nil {
		return Container{}, err
	}
	r, err := c.c.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return Container{}, fmt.Errorf("inspect container %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Container{}, fmt.Errorf("docker api %s: inspect container %s: %w", c.host, id, err)
	}
	out := Container{ID: r.ID, Endpoints: map[string]string{}}
	if r.ContainerJSONBase != nil {
		out.Name = trimSlash(r.Name)
	}
	if r.Config != nil {
		out.Labels = r.Config.Labels
	}
	if r.NetworkSettings != nil {
		for _, es := range r.NetworkSettings.Networks {
			if es != nil && es.NetworkID != "" {
				out.Endpoints[es.NetworkID] = es.EndpointID
			}
		}
	}
	return out, nil
}

// Running lists the running containers with their endpoints.
func (c *Client) Running(ctx context.Context) ([]Container, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	list, err := c.c.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker api %s: list containers: %w", c.host, err)
	}
	out := make([]Container, 0, len(list))
	for _, s := range list {
		ct := Container{ID: s.ID, Labels: s.Labels, Endpoints: map[string]string{}}
		if len(s.Names) > 0 {
			ct.Name = trimSlash(s.Names[0])
		}
		if s.NetworkSettings != nil {
			for _, es := range s.NetworkSettings.Networks {
				if es != nil && es.NetworkID != "" {
					ct.Endpoints[es.NetworkID] = es.EndpointID
				}
			}
		}
		out = append(out, ct)
	}
	return out, nil
}

// Starts streams the IDs of containers as they start or are connected to a network (docker network
// connect: a Join that could not learn the labels is followed by no start event), until ctx is done or
// the stream breaks; the error channel then carries why. The caller resyncs after every (re)connect:
// events sent while the stream was down are lost.
func (c *Client) Starts(ctx context.Context) (<-chan string, <-chan error) {
	if err := c.ready(ctx); err != nil {
		ids, out := make(chan string), make(chan error, 1)
		close(ids)
		out <- err
		return ids, out
	}
	// Types and actions are each OR'ed and then AND'ed: container start and network connect, nothing
	// else (containers have no connect action, networks no start).
	msgs, errs := c.c.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)), filters.Arg("type", string(events.NetworkEventType)),
		filters.Arg("event", string(events.ActionStart)), filters.Arg("event", string(events.ActionConnect)))})
	ids := make(chan string)
	out := make(chan error, 1)
	go func() {
		defer close(ids)
		for {
			select {
			case m := <-msgs:
				id := m.Actor.ID
				if m.Type == events.NetworkEventType {
					id = m.Actor.Attributes["container"]
				}
				if id == "" {
					continue
				}
				select {
				case ids <- id:
				case <-ctx.Done():
					out <- ctx.Err()
					return
				}
			case err := <-errs:
				out <- err
				return
			}
		}
	}()
	return ids, out
}

func trimSlash(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}
