package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestSingleNode is the one-node walkthrough against the real engine and agent. Its steps share one
// network and build on each other, in the order a user takes them.
func TestSingleNode(t *testing.T) {
	nd := bed.Up(t, 1)
	fam := nd.AgentRange(t)
	net := "cilium-net"
	nd.Network(t, net)

	t.Run("network inspect shows the cilium driver and the agent router as gateway", func(t *testing.T) {
		out := nd.Must(t, "network", "inspect", "-f", "{{.Driver}} {{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", net)
		want := fmt.Sprintf("cilium cilium 0.0.0.0/0 %s", fam.Router)
		if out != want {
			t.Fatalf("network inspect: got %q, want %q", out, want)
		}
	})

	nd.Run(t, "app1", "-l", "name=app1", "--net", net, bed.Image, "sleep", "100000")
	ep := nd.EndpointOf(t, "app1", net) // read right after docker run returned
	t.Run("endpoint is built under its labels when docker run returns", func(t *testing.T) {
		nd.AssertBuiltAtRun(t, ep, "app1", net, fam.Range)
		for _, l := range ep.Status.Log {
			if strings.Contains(l.Message, "reserved:init") {
				t.Fatalf("endpoint went through reserved:init: %q", l.Message)
			}
		}
		ip := nd.ContainerIP(t, "app1", net)
		mac := nd.Must(t, "exec", "app1", "cat", "/sys/class/net/eth0/address")
		if ep.Status.Networking == nil || ep.Status.Networking.Mac != mac {
			t.Fatalf("container MAC %q, agent endpoint mac %+v", mac, ep.Status.Networking)
		}
		if ep.Status.Networking.Addressing[0].IPv4 != ip.String() {
			t.Fatalf("agent endpoint address %q, container address %s", ep.Status.Networking.Addressing[0].IPv4, ip)
		}
	})

	app2 := nd.StartPeers(t, net)

	t.Run("a label-selected policy blocks app1 and admits app3, removal restores app1", func(t *testing.T) {
		bed.Enforce(t, nd, nd.PolicyDir(), "app2-from-app3-only.yaml", bed.PolicyOnlyFrom("app2", "app3"), "app1", "app3", app2)
	})

	t.Run("container on a cilium network and the default bridge starts", func(t *testing.T) {
		nd.Must(t, "create", "--pull", "never", "--init", "--name", "multi", "-l", "name=multi", "--net", net, bed.Image, "sleep", "100000")
		t.Cleanup(func() { nd.BestEffort(t, "rm", "-f", "multi") })
		nd.Must(t, "network", "connect", "bridge", "multi")
		nd.Must(t, "start", "multi")
		nd.Must(t, "exec", "multi", "ping", "-c", "1", "-W", "2", app2)
		routes := nd.Must(t, "exec", "multi", "ip", "route")
		if strings.Count(routes, "default") != 1 {
			t.Fatalf("want exactly one default route, got:\n%s", routes)
		}
	})
}
