package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestFakeDockerContract holds the fake Docker the unit tests run on (dockerapi/dockertest, written
// against API 1.41) to the real dockerd of the leg, as TestFakeAgentContract does for the agent: the
// node's containers and networks, in every state the plugin meets them in (running, paused, from an
// image with labels, created and never started, exited, on a network of another driver), are copied
// into the fake from what the engine reports, and then every read of the plugin's Docker client
// (dockerapi.Client) must answer the same from both: inspect by ID and by name, the running list,
// the names, the complete network read of the reconciler, the status command's networks, the Join's
// lookup, and the start and connect events. An engine bump shows here where the fake drifted.
//
// Not compared: the inspect of a network ID Docker does not know (the fake answers any as a cilium
// network, so that unit tests need not add one) and the engine's version and info (the fake has no
// such routes).
func TestFakeDockerContract(t *testing.T) {
	nd := bed.Up(t, 1)
	const net, other, image = "dc-net", "dc-bridge", "dccontract:labels"
	nd.Network(t, net)
	nd.Must(t, "network", "create", "--driver", "bridge", other)
	t.Cleanup(func() { nd.BestEffort(t, "network", "rm", other) })
	nd.Exec(t, "sh", "-c", "c=$(docker create --pull never "+bed.Image+" true) && docker export \"$c\" | "+
		"docker import --change 'LABEL dc.from=image' --change 'LABEL dc.both=image' --change 'CMD [\"/bin/sh\"]' - "+image+
		" >/dev/null && docker rm \"$c\" >/dev/null")
	t.Cleanup(func() { nd.BestEffort(t, "rmi", image) })

	nd.Run(t, "dc-run", "-l", "name=dc-run", "--net", net, bed.Image, "sleep", "100000")
	nd.Run(t, "dc-img", "-l", "name=dc-img", "-l", "dc.both=container", "--net", net, image, "sleep", "100000")
	nd.Run(t, "dc-paused", "-l", "name=dc-paused", "--net", net, bed.Image, "sleep", "100000")
	nd.Must(t, "pause", "dc-paused")
	nd.Run(t, "dc-exited", "-l", "name=dc-exited", "--net", net, bed.Image, "sleep", "100000")
	nd.Must(t, "stop", "-t", "0", "dc-exited")
	nd.Run(t, "dc-bridge", "-l", "name=dc-bridge", "--net", other, bed.Image, "sleep", "100000")
	nd.Must(t, "create", "--pull", "never", "--init", "--name", "dc-created", "-l", "name=dc-created", "--net", net, bed.Image, "sleep", "100000")
	t.Cleanup(func() { nd.BestEffort(t, "rm", "-f", "dc-created") })

	fake := dockertest.New(t)
	names := []string{"dc-run", "dc-img", "dc-paused", "dc-exited", "dc-bridge", "dc-created"}
	ids := mirror(t, nd, fake, names, []string{net, other})
	nid, bid := nd.NetworkID(t, net), nd.NetworkID(t, other)

	rc, err := dockerapi.New("unix://"+nd.DockerSocket(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	fc, err := dockerapi.New(fake.Host(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fc.Close() })
	clients := map[string]*dockerapi.Client{"real": rc, "fake": fc}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	// same calls read on both clients and fails when the two normalized answers differ.
	same := func(t *testing.T, what string, read func(c *dockerapi.Client) (any, error)) {
		t.Helper()
		got := map[string]string{}
		for name, c := range clients {
			v, err := read(c)
			got[name] = answer(v, err)
		}
		if got["real"] != got["fake"] {
			t.Errorf("%s:\n real: %s\n fake: %s", what, got["real"], got["fake"])
		}
	}
	ours := func(name string) bool { return strings.HasPrefix(name, "dc-") }

	t.Run("inspect", func(t *testing.T) {
		for _, name := range names {
			for _, ref := range []string{ids[name], name} {
				same(t, "inspect "+ref, func(c *dockerapi.Client) (any, error) { return c.Inspect(ctx, ref) })
			}
		}
		same(t, "inspect of no container", func(c *dockerapi.Client) (any, error) { return c.Inspect(ctx, "dc-nobody") })
	})
	t.Run("running list", func(t *testing.T) {
		same(t, "running", func(c *dockerapi.Client) (any, error) {
			all, err := c.Running(ctx)
			return slices.DeleteFunc(all, func(ct dockerapi.Container) bool { return !ours(ct.Name) }), err
		})
	})
	t.Run("names", func(t *testing.T) {
		same(t, "container names", func(c *dockerapi.Client) (any, error) {
			all, err := c.ContainerNames(ctx)
			maps.DeleteFunc(all, func(n string, _ bool) bool { return !ours(n) })
			return all, err
		})
	})
	t.Run("networks, complete read", func(t *testing.T) {
		same(t, "networks", func(c *dockerapi.Client) (any, error) {
			all, err := c.Networks(ctx)
			return slices.DeleteFunc(all, func(n dockerapi.Network) bool { return n.ID != nid && n.ID != bid }), err
		})
	})
	t.Run("networks of the driver", func(t *testing.T) {
		same(t, "networks of cilium", func(c *dockerapi.Client) (any, error) { return c.NetworksOf(ctx, "cilium") })
	})
	t.Run("network by name and ID", func(t *testing.T) {
		for _, ref := range []string{net, nid, other, bid} {
			same(t, "network "+ref, func(c *dockerapi.Client) (any, error) {
				id, driver, err := c.Network(ctx, ref)
				return id + " " + driver, err
			})
		}
	})
	t.Run("joining container", func(t *testing.T) {
		for _, name := range []string{"dc-run", "dc-img", "dc-paused"} {
			eid := nd.EndpointID(t, name, net)
			same(t, "joining "+name, func(c *dockerapi.Client) (any, error) { return c.JoiningContainer(ctx, nid, eid) })
		}
		same(t, "joining of no endpoint", func(c *dockerapi.Client) (any, error) {
			return c.JoiningContainer(ctx, nid, strings.Repeat("0", 64))
		})
	})
	t.Run("events", func(t *testing.T) {
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		streams := map[string]<-chan string{}
		for name, c := range clients {
			streams[name], _ = c.Starts(sctx)
		}
		bed.Eventually(t, 10*time.Second, "the fake's event stream open", func() error {
			if fake.EventStreams() != 1 {
				return errors.New("not yet")
			}
			return nil
		})
		nd.Must(t, "start", "dc-created")
		mirror(t, nd, fake, []string{"dc-created"}, nil) // now with the endpoint its start made
		fake.StartContainer(ids["dc-created"])
		nd.Must(t, "network", "connect", other, "dc-run")
		fake.EmitConnect(bid, ids["dc-run"])
		// dockerd connects a starting container to its networks before it starts it, and says so.
		want := []string{ids["dc-created"], ids["dc-created"], ids["dc-run"]}
		for name, ch := range streams {
			var got []string
			timeout := time.After(30 * time.Second)
			for len(got) < len(want) {
				select {
				case id, ok := <-ch:
					if !ok {
						t.Fatalf("%s: event stream ended after %v", name, got)
					}
					if slices.Contains(want, id) { // not another container's
						got = append(got, id)
					}
				case <-timeout:
					t.Fatalf("%s: events %v, want %v within 30s", name, got, want)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: events %v, want %v (the start's connect, the start, the connect)", name, got, want)
			}
		}
	})
}

// mirror copies the named containers and networks of the node into the fake, as the engine reports
// them, and returns the containers' IDs by name.
func mirror(t *testing.T, nd *bed.Node, fake *dockertest.Docker, names, nets []string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range nets {
		n, err := nd.API.NetworkInspect(ctx, name, network.InspectOptions{})
		if err != nil {
			t.Fatalf("inspect network %s: %v", name, err)
		}
		fn := dockertest.Network{ID: n.ID, Name: n.Name, Driver: n.Driver, IPAMDriver: n.IPAM.Driver, Internal: n.Internal}
		for _, c := range n.IPAM.Config {
			fn.Subnets = append(fn.Subnets, c.Subnet)
		}
		fake.AddNetwork(fn)
		for _, ep := range n.Containers {
			fake.SetAddress(ep.EndpointID, ep.IPv4Address)
		}
	}
	ids := map[string]string{}
	for _, name := range names {
		c, err := nd.API.ContainerInspect(ctx, name)
		if err != nil {
			t.Fatalf("inspect container %s: %v", name, err)
		}
		img, err := nd.API.ImageInspect(ctx, c.Image)
		if err != nil {
			t.Fatalf("inspect image %s of %s: %v", c.Image, name, err)
		}
		if img.Config != nil {
			fake.AddImage(c.Image, img.Config.Labels)
		}
		fc := dockertest.Container{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), Labels: c.Config.Labels, Image: c.Image,
			Running: c.State.Running, State: c.State.Status, Networks: map[string]string{}}
		for _, es := range c.NetworkSettings.Networks {
			if es != nil && es.NetworkID != "" {
				fc.Networks[es.NetworkID] = es.EndpointID
			}
		}
		fake.AddContainer(fc)
		ids[name] = c.ID
	}
	return ids
}

// answer is the normalized text of a read's result: its error's class, or its value with every
// slice in a stable order.
func answer(v any, err error) string {
	switch {
	case errors.Is(err, dockerapi.ErrNotFound):
		return "not found"
	case err != nil:
		return "error"
	}
	return fmt.Sprintf("%+v", normalize(reflect.ValueOf(v)))
}

// normalize sorts slices of strings, containers, networks and endpoints, and makes nil and empty maps
// and slices the same, so that the answers of two engines compare by content.
func normalize(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case dockerapi.Container:
		x.Networks = sorted(x.Networks)
		x.Labels, x.ImageLabels, x.Endpoints = nonNil(x.Labels), nonNil(x.ImageLabels), nonNil(x.Endpoints)
		return x
	case []dockerapi.Container:
		out := make([]dockerapi.Container, 0, len(x))
		for _, c := range x {
			out = append(out, normalize(reflect.ValueOf(c)).(dockerapi.Container))
		}
		slices.SortFunc(out, func(a, b dockerapi.Container) int { return strings.Compare(a.Name, b.Name) })
		return out
	case []dockerapi.Network:
		out := slices.Clone(x)
		for i := range out {
			out[i].Endpoints = slices.Clone(out[i].Endpoints)
			slices.SortFunc(out[i].Endpoints, func(a, b dockerapi.Endpoint) int { return strings.Compare(a.ID, b.ID) })
			slices.SortFunc(out[i].Aux, func(a, b netip.Addr) int { return a.Compare(b) })
		}
		slices.SortFunc(out, func(a, b dockerapi.Network) int { return strings.Compare(a.ID, b.ID) })
		return out
	}
	return v.Interface()
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
