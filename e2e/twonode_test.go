package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestTwoNodes is the seeds' walkthrough: app1 on node 1 reaches app2 on node 2 over the VXLAN overlay,
// identities come from the shared etcd, and a policy on node 2 blocks app1 and admits app3.
func TestTwoNodes(t *testing.T) {
	n1 := bed.Up(t, 1)
	n2 := bed.Up(t, 2)
	t.Cleanup(func() { n2.Down(t) })
	net := "cilium-x"
	n1.Network(t, net)
	n2.Network(t, net)
	n1.Run(t, "xapp1", "-l", "name=xapp1", "--net", net, bed.Image, "sleep", "100000")
	n1.Run(t, "xapp3", "-l", "name=xapp3", "--net", net, bed.Image, "sleep", "100000")
	n2.Run(t, "xapp2", "-l", "name=xapp2", "--net", net, bed.Image, "sh", "-c", "while true; do echo pong | nc -l -p 8080; done")
	// The same labels on the other node get the same identity: it comes from the shared etcd.
	n2.Run(t, "xapp1b", "-l", "name=xapp1", "--net", net, bed.Image, "sleep", "100000")
	if a, b := bed.IdentityID(n1.EndpointOf(t, "xapp1", net)), bed.IdentityID(n2.EndpointOf(t, "xapp1b", net)); a != b || a == 0 {
		t.Fatalf("identity of name=xapp1: node 1 %d, node 2 %d; want equal", a, b)
	}
	app2 := n2.ContainerIP(t, "xapp2", net).String()
	bed.Eventually(t, 30*time.Second, "ping node1/xapp1 -> node2/xapp2", func() error {
		_, err := n1.Docker(t, "exec", "xapp1", "ping", "-c", "1", "-W", "1", app2)
		return err
	})
	bed.Eventually(t, 10*time.Second, "tcp node1/xapp1 -> node2/xapp2", func() error { return n1.TCP(t, "xapp1", app2) })

	bed.Enforce(t, n1, n2.PolicyDir(), "xapp2.yaml", bed.PolicyOnlyFrom("xapp2", "xapp3"), "xapp1", "xapp3", app2)
}

// TestMultiHomedCrossNode (issue 9.4): a container on a cilium network and the default bridge, whose
// default route is the bridge's, reaches a container on the other node through Cilium under its own
// identity: a policy that admits only its labels admits it. Before, only its node's range went through
// the cilium interface; traffic to the other node left through the bridge, masqueraded as the node.
func TestMultiHomedCrossNode(t *testing.T) {
	n1 := bed.Up(t, 1)
	n2 := bed.Up(t, 2)
	t.Cleanup(func() { n2.Down(t) })
	net := "mh-net"
	n1.Network(t, net)
	n2.Network(t, net)
	n2.Run(t, "mh-srv", "-l", "name=mh-srv", "--net", net, bed.Image, "sh", "-c", "while true; do echo pong | nc -l -p 8080; done")
	n1.Run(t, "mh-other", "-l", "name=mh-other", "--net", net, bed.Image, "sleep", "100000")
	n1.Must(t, "create", "--pull", "never", "--init", "--name", "mh-multi", "-l", "name=mh-multi", "--net", net, bed.Image, "sleep", "100000")
	t.Cleanup(func() { n1.BestEffort(t, "rm", "-f", "mh-multi") })
	n1.Must(t, "network", "connect", "bridge", "mh-multi")
	n1.Must(t, "start", "mh-multi")

	srv := n2.ContainerIP(t, "mh-srv", net).String()
	router := n1.AgentRange(t).Router.String()
	// The cilium interface is the one the router is on; the bridge must hold the default route, for
	// this test to mean anything (both engines choose the bridge here: its name sorts first).
	ciliumIf := strings.Fields(n1.Must(t, "exec", "mh-multi", "ip", "route", "get", router))
	defaultIf := strings.Fields(n1.Must(t, "exec", "mh-multi", "ip", "route", "get", "192.168.77.1"))
	dev := func(f []string) string {
		for i := range f[:max(len(f)-1, 0)] {
			if f[i] == "dev" {
				return f[i+1]
			}
		}
		return ""
	}
	if dev(ciliumIf) == "" || dev(ciliumIf) == dev(defaultIf) {
		t.Fatalf("the bridge should hold the default route: router via %v, outside via %v", ciliumIf, defaultIf)
	}
	if got := n1.Must(t, "exec", "mh-multi", "ip", "route", "get", srv); !strings.Contains(got, "via "+router+" ") {
		t.Errorf("route to the other node's container %s: %s, want via the cilium router %s", srv, got, router)
	}
	bed.Eventually(t, 30*time.Second, "tcp node1/mh-multi -> node2/mh-srv", func() error { return n1.TCP(t, "mh-multi", srv) })
	bed.Enforce(t, n1, n2.PolicyDir(), "mh-srv.yaml", bed.PolicyOnlyFrom("mh-srv", "mh-multi"), "mh-other", "mh-multi", srv)
}
