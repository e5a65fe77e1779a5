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
	// ImageLabels are the labels of the container's image, which dockerd copied into Labels.
	ImageLabels map[string]string
	// Endpoints maps network ID to the container's endpoint ID on that network (not known at Join).
	Endpoints map[string]string
	// Networks are the networks the container is configured for, at Join: by ID, or by name for one
	// it has not joined yet.
	Networks []string
	// JoinDriver is, at Join, the network driver Docker recorded for the network joined: the name the
	// plugin is known by there.
	JoinDriver string
	// JoinInternal is, at Join, whether the network joined is internal (--internal): Docker gives a
	// container no gateway there, so it sends that endpoint no ProgramExternalConnectivity.
	JoinInternal bool
	// State is Docker's state of the container when listed ("created", "running", "exited", ...).
	State string
}

// Client is a Docker Engine API client with a deadline on every call.
type Client struct {
	c          *dockerclient.Client
	host       string
	timeout    time.Duration
	negotiated atomic.Bool
	images     imageCache
	observe    Observer // nil: nobody listens
}

// Observer is told of every Docker call when it ends: its name (one of "joining container",
// "inspect network", "inspect container", "list running", "subscribe events"), how long it took, and its error.
type Observer func(call string, took time.Duration, err error)

// Option configures a Client.
type Option func(*Client)

// WithObserver has o told of every call.
func WithObserver(o Observer) Option { return func(c *Client) { c.observe = o } }

// observed reports a call that started at start and ended with *err to the observer, if any.
func (c *Client) observed(call string, start time.Time, err *error) {
	if c.observe != nil {
		c.observe(call, time.Since(start), *err)
	}
}

// New returns a client for the Docker API at host (for example unix:///var/run/docker.sock). It
// negotiates the API version on first use, under that call's deadline, so it works with Docker 20.10
// (API 1.41) up to the newest engines, which refuse old API versions.
func New(host string, timeout time.Duration, opts ...Option) (*Client, error) {
	c, err := dockerclient.NewClientWithOpts(dockerclient.WithHost(host), dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker api at %q: %w", host, err)
	}
	out := &Client{c: c, host: host, timeout: timeout}
	for _, o := range opts {
		o(out)
	}
	return out, nil
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
func (c *Client) JoiningContainer(ctx context.Context, networkID, endpointID string) (_ Container, err error) {
	defer c.observed("joining container", time.Now(), &err)
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
				il, err := c.imageLabels(ctx, s.ImageID)
				if err != nil {
					return Container{}, err
				}
				ct := Container{ID: s.ID, Name: name, Labels: s.Labels, ImageLabels: il, JoinDriver: nw.Driver,
					JoinInternal: nw.Internal, State: string(s.State)}
				if s.NetworkSettings != nil {
					for key, es := range s.NetworkSettings.Networks {
						// A network the container has not joined yet has no ID here: its name is the key.
						if es != nil && es.NetworkID != "" {
							key = es.NetworkID
						}
						ct.Networks = append(ct.Networks, key)
					}
				}
				return ct, nil
			}
		}
	}
	return Container{}, fmt.Errorf("container %q of endpoint %s: %w", name, endpointID, ErrNotFound)
}

// Network returns the ID and driver of the network named or identified by ref (network inspect: no
// container lock, safe at Join).
func (c *Client) Network(ctx context.Context, ref string) (id, driver string, err error) {
	defer c.observed("inspect network", time.Now(), &err)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.ready(ctx); err != nil {
		return "", "", err
	}
	nw, err := c.c.NetworkInspect(ctx, ref, network.InspectOptions{})
	if err != nil {
		return "", "", fmt.Errorf("docker api %s: inspect network %s: %w", c.host, ref, err)
	}
	return nw.ID, nw.Driver, nil
}

// Inspect returns a started container with its endpoints. Never call it from Join.
func (c *Client) Inspect(ctx context.Context, id string) (_ Container, err error) {
	defer c.observed("inspect container", time.Now(), &err)
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
	if r.ContainerJSONBase != nil {
		if out.ImageLabels, err = c.imageLabels(ctx, r.Image); err != nil {
			return Container{}, err
		}
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

// Running lists the running containers with their endpoints, and their images' labels; a container
// whose image cannot be inspected is left out.
func (c *Client) Running(ctx context.Context) (_ []Container, err error) {
	defer c.observed("list running", time.Now(), &err)
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
		il, err := c.imageLabels(ctx, s.ImageID)
		if err != nil {
			// Which of its labels are the image's cannot be told: leave the container out, and its
			// endpoint's labels as they are, rather than fail the resync of every other container.
			continue
		}
		ct := Container{ID: s.ID, Labels: s.Labels, ImageLabels: il, Endpoints: map[string]string{}}
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
	start := time.Now()
	err := c.ready(ctx)
	c.observed("subscribe events", start, &err)
	if err != nil {
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
