package e2e

import (
	"testing"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestMacAddress (issue 19.18): docker run --mac-address on a cilium network gives the container's eth0
// that MAC, and docker inspect and the agent's endpoint report the same. Docker 20.10 sends the MAC of
// the container's config, 25 and later the one of the endpoint's settings: both legs run it.
func TestMacAddress(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cilium-mac"
	nd.Network(t, net)
	const mac = "02:42:ac:11:00:99"

	nd.Run(t, "mac1", "-l", "name=mac1", "--mac-address", mac, "--net", net, bed.Image, "sleep", "100000")
	if got := nd.Must(t, "exec", "mac1", "cat", "/sys/class/net/eth0/address"); got != mac {
		t.Errorf("container eth0 MAC %q, want %q", got, mac)
	}
	if got := nd.Must(t, "inspect", "-f", `{{(index .NetworkSettings.Networks "`+net+`").MacAddress}}`, "mac1"); got != mac {
		t.Errorf("docker inspect MacAddress on %s: %q, want %q", net, got, mac)
	}
	ep := nd.EndpointOf(t, "mac1", net)
	if ep.Status == nil || ep.Status.Networking == nil || ep.Status.Networking.Mac != mac {
		t.Errorf("agent endpoint status %+v, want networking mac %q", ep.Status, mac)
	}
	// The address is the one the MAC goes with: a peer reaches it.
	nd.Run(t, "mac-peer", "--net", net, bed.Image, "sleep", "100000")
	nd.Must(t, "exec", "mac-peer", "ping", "-c", "1", "-W", "2", nd.ContainerIP(t, "mac1", net).String())
}
