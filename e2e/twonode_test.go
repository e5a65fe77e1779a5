package e2e

import (
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
