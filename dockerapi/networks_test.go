package dockerapi_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/dockerapi/dockertest"
)

// Networks reads every network, whatever its driver (this plugin under any name, a builtin one), with
// its endpoints and aux addresses; a network removed since the list is left out, and any other failed
// inspect fails the answer.
func TestNetworksOfEveryDriver(t *testing.T) {
	d := dockertest.New(t)
	c := newClient(t, d, 2*time.Second)
	ids := map[string]string{}
	for i, drv := range []string{"cilium", "cilium-docker:latest", "bridge"} {
		id := strings.Repeat(string(rune('a'+i)), 64)
		ids[drv] = id
		d.AddNetwork(dockertest.Network{ID: id, Name: "net-" + drv, Driver: drv, IPAMDriver: drv,
			Aux: map[string]string{"r": "10.77.9." + string(rune('1'+i))},
			Endpoints: []dockertest.Endpoint{{ID: strings.Repeat(string(rune('4'+i)), 64), Name: "ct-" + drv,
				IPv4: "10.77.0." + string(rune('1'+i)) + "/32", Container: strings.Repeat("c", 64)}}})
	}
	d.AddNetwork(dockertest.Network{ID: strings.Repeat("f", 64), Name: "removed", InspectStatus: 404})

	got, err := c.Networks(context.Background())
	if err != nil {
		t.Fatalf("Networks: %v", err)
	}
	var gotIDs []string
	for _, n := range got {
		gotIDs = append(gotIDs, n.ID)
		if len(n.Endpoints) != 1 || !n.Endpoints[0].Joined || len(n.Aux) != 1 || !n.Endpoints[0].IPv4.IsValid() {
			t.Errorf("network %s: endpoints %+v aux %v, want one joined endpoint with its address and one aux address", n.ID, n.Endpoints, n.Aux)
		}
	}
	if want := []string{ids["cilium"], ids["cilium-docker:latest"], ids["bridge"]}; !slices.Equal(gotIDs, want) {
		t.Errorf("networks %v, want %v (every driver; the removed one left out)", gotIDs, want)
	}
	if n := got[1]; n.Endpoints[0].IPv4 != netip.MustParseAddr("10.77.0.2") || n.Endpoints[0].Name != "ct-cilium-docker:latest" {
		t.Errorf("other driver name's endpoint %+v", n.Endpoints[0])
	}

	d.AddNetwork(dockertest.Network{ID: strings.Repeat("e", 64), Name: "broken", Driver: "cilium-docker:v2", InspectStatus: 500})
	if got, err := c.Networks(context.Background()); err == nil || !strings.Contains(err.Error(), "inspect network") {
		t.Errorf("Networks with a network whose inspect fails: got %d networks, %v; want the inspect's error", len(got), err)
	}
}
