package dockerapi_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
)

const (
	nid = "1111111111111111111111111111111111111111111111111111111111111111"
	eid = "2222222222222222222222222222222222222222222222222222222222222222"
	cid = "3333333333333333333333333333333333333333333333333333333333333333"
)

func newClient(t *testing.T, d *dockertest.Docker, timeout time.Duration) *dockerapi.Client {
	t.Helper()
	c, err := dockerapi.New(d.Host(), timeout)
	if err != nil {
		t.Fatalf("dockerapi.New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestJoiningContainer(t *testing.T) {
	d := dockertest.New(t)
	c := newClient(t, d, 2*time.Second)
	labels := map[string]string{"app": "web"}
	d.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Labels: labels, Networks: map[string]string{nid: eid}})
	// Names the name filter's regexp would also match without anchors.
	d.AddContainer(dockertest.Container{ID: strings.Repeat("4", 64), Name: "web-10", Running: true})
	d.AddContainer(dockertest.Container{ID: strings.Repeat("5", 64), Name: "xweb-1", Running: true})

	got, err := c.JoiningContainer(context.Background(), nid, eid)
	if err != nil {
		t.Fatalf("JoiningContainer: %v", err)
	}
	if got.ID != cid || got.Name != "web-1" || !maps.Equal(got.Labels, labels) {
		t.Errorf("JoiningContainer: got %+v, want %s web-1 %v", got, cid, labels)
	}
	if n := d.Calls(dockertest.RouteInspect); n != 0 {
		t.Errorf("JoiningContainer inspected the container %d times: that deadlocks dockerd", n)
	}
	if _, err := c.JoiningContainer(context.Background(), nid, strings.Repeat("9", 64)); !errors.Is(err, dockerapi.ErrNotFound) {
		t.Errorf("JoiningContainer(unknown endpoint): got %v, want ErrNotFound", err)
	}
}

func TestJoiningContainerDeadline(t *testing.T) {
	for _, route := range []string{dockertest.RouteNetwork, dockertest.RouteContainers, dockertest.RoutePing} {
		t.Run(route, func(t *testing.T) {
			d := dockertest.New(t)
			c := newClient(t, d, 200*time.Millisecond)
			d.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Networks: map[string]string{nid: eid}})
			d.SetFault(route, dockertest.Fault{Hang: true})
			start := time.Now()
			if _, err := c.JoiningContainer(context.Background(), nid, eid); err == nil {
				t.Error("JoiningContainer on a hanging Docker: got success, want an error")
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("JoiningContainer on a hanging Docker took %v, want about 200ms", el)
			}
		})
	}
}

func TestInspectAndRunning(t *testing.T) {
	d := dockertest.New(t)
	c := newClient(t, d, 2*time.Second)
	d.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Labels: map[string]string{"a": "b"}, Running: true,
		Networks: map[string]string{nid: eid}})
	d.AddContainer(dockertest.Container{ID: strings.Repeat("4", 64), Name: "starting"})

	got, err := c.Inspect(context.Background(), cid)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if got.ID != cid || got.Name != "web-1" || got.Labels["a"] != "b" || got.Endpoints[nid] != eid {
		t.Errorf("Inspect: got %+v, want web-1 with endpoint %s on %s", got, eid, nid)
	}
	if _, err := c.Inspect(context.Background(), strings.Repeat("9", 64)); !errors.Is(err, dockerapi.ErrNotFound) {
		t.Errorf("Inspect(unknown): got %v, want ErrNotFound", err)
	}
	running, err := c.Running(context.Background())
	if err != nil {
		t.Fatalf("Running: %v", err)
	}
	if len(running) != 1 || running[0].Name != "web-1" || running[0].Endpoints[nid] != eid {
		t.Errorf("Running: got %+v, want only web-1 with its endpoint", running)
	}
}

func TestStarts(t *testing.T) {
	d := dockertest.New(t)
	c := newClient(t, d, 2*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ids, errs := c.Starts(ctx)
	testkit.Eventually(t, 5*time.Second, "the event stream to open", func() error {
		if n := d.EventStreams(); n != 1 {
			return fmt.Errorf("%d event streams", n)
		}
		return nil
	})
	d.AddContainer(dockertest.Container{ID: cid, Name: "web-1"})
	d.StartContainer(cid)
	select {
	case id := <-ids:
		if id != cid {
			t.Errorf("start event: got %s, want %s", id, cid)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no start event within 5s")
	}
	d.BreakEvents()
	select {
	case _, ok := <-ids:
		if ok {
			t.Error("got an event after the stream broke")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the id channel stayed open after the stream broke")
	}
	if err := <-errs; err == nil {
		t.Error("broken stream: got a nil error, want why")
	}
}

// TestHangingDockerAtBoot is dockerd at boot with socket activation: it accepts connections but answers
// nothing until it has restored its containers, and those containers' Joins must answer within their
// deadline for it to get there. The label sync's event stream subscribes first, with no deadline;
// neither it nor any later call may hold Join behind the API version negotiation.
func TestHangingDockerAtBoot(t *testing.T) {
	d := dockertest.New(t)
	c := newClient(t, d, 200*time.Millisecond)
	d.AddContainer(dockertest.Container{ID: cid, Name: "web-1", Networks: map[string]string{nid: eid}})
	d.SetFault(dockertest.RoutePing, dockertest.Fault{Hang: true})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ids, errs := c.Starts(ctx) // the label sync: no deadline of its own
	select {
	case err := <-errs:
		if err == nil {
			t.Error("event stream on a hanging Docker: got a nil error, want why it could not subscribe")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("event stream on a hanging Docker did not give up within 2s")
	}
	if _, open := <-ids; open {
		t.Error("event stream on a hanging Docker: the ID channel is still open")
	}

	for i := range 3 { // each Join pings afresh: nothing was negotiated
		start := time.Now()
		_, err := c.JoiningContainer(context.Background(), nid, eid)
		if err == nil {
			t.Fatalf("join %d on a hanging Docker: got success, want an error", i)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("join %d on a hanging Docker took %v, want about the 200ms deadline", i, el)
		}
	}

	// dockerd finishes starting: the next Join negotiates and finds the container.
	d.SetFault(dockertest.RoutePing, dockertest.Fault{})
	ct, err := c.JoiningContainer(context.Background(), nid, eid)
	if err != nil || ct.ID != cid {
		t.Fatalf("join after dockerd answers: got %+v, %v; want container %s", ct, err, cid)
	}
	pings := d.Calls(dockertest.RoutePing)
	if _, err := c.Running(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := d.Calls(dockertest.RoutePing); got != pings {
		t.Errorf("pings after negotiation: got %d more, want none", got-pings)
	}
}

// TestImageLabels: the joining container's image labels come from an image inspect by ID (never a
// container inspect), once per image; an image Docker cannot show fails the lookup at Join (its labels
// cannot be told from the user's) and leaves the container out of a resync list.
func TestImageLabels(t *testing.T) {
	d := dockertest.New(t)
	c := newClient(t, d, 2*time.Second)
	img := "sha256:" + strings.Repeat("a", 64)
	d.AddImage(img, map[string]string{"name": "app2"})
	for i, id := range []string{cid, strings.Repeat("4", 64)} {
		d.AddContainer(dockertest.Container{ID: id, Name: "web-" + string(rune('1'+i)), Image: img, Running: true,
			Networks: map[string]string{nid: strings.Repeat(string(rune('6'+i)), 64)}})
	}
	for _, e := range []string{strings.Repeat("6", 64), strings.Repeat("7", 64)} {
		got, err := c.JoiningContainer(context.Background(), nid, e)
		if err != nil || got.ImageLabels["name"] != "app2" || got.Labels["name"] != "app2" {
			t.Fatalf("JoiningContainer: got %+v, %v; want the image's name=app2 in both label sets", got, err)
		}
	}
	if n := d.Calls(dockertest.RouteImage); n != 1 {
		t.Errorf("image inspects: %d, want 1 (image labels are cached by image ID)", n)
	}
	if n := d.Calls(dockertest.RouteInspect); n != 0 {
		t.Errorf("container inspects at Join: %d, want 0", n)
	}
	d.AddContainer(dockertest.Container{ID: strings.Repeat("5", 64), Name: "gone", Image: "sha256:" + strings.Repeat("b", 64),
		Running: true, Networks: map[string]string{nid: strings.Repeat("8", 64)}})
	if _, err := c.JoiningContainer(context.Background(), nid, strings.Repeat("8", 64)); err == nil || !strings.Contains(err.Error(), "inspect image") {
		t.Errorf("JoiningContainer with an image Docker cannot show: got %v, want the image inspect's error", err)
	}
	list, err := c.Running(context.Background())
	if err != nil || len(list) != 2 {
		t.Errorf("Running: got %d containers, %v; want the 2 whose image is known", len(list), err)
	}
}
