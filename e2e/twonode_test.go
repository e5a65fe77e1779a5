package e2e

import (
	"testing"
	"time"
)

// TestTwoNodes is the seeds' walkthrough: app1 on node 1 reaches app2 on node 2 over the VXLAN overlay,
// identities come from the shared etcd, and a policy on node 2 blocks app1 and admits app3.
func TestTwoNodes(t *testing.T) {
	n1 := upNode(t, 1)
	n2 := upNode(t, 2)
	t.Cleanup(func() {
		if out, err := testbed(2*time.Minute, "down", "2"); err != nil {
			t.Errorf("testbed down 2: %v\n%s", err, out)
		}
	})
	net := "cilium-x"
	n1.network(t, net)
	n2.network(t, net)
	n1.run(t, "xapp1", "-l", "name=xapp1", "--net", net, image, "sleep", "100000")
	n1.run(t, "xapp3", "-l", "name=xapp3", "--net", net, image, "sleep", "100000")
	n2.run(t, "xapp2", "-l", "name=xapp2", "--net", net, image, "sh", "-c", "while true; do echo pong | nc -l -p 8080; done")
	// The same labels on the other node get the same identity: it comes from the shared etcd.
	n2.run(t, "xapp1b", "-l", "name=xapp1", "--net", net, image, "sleep", "100000")
	if a, b := identityID(n1.endpointOf(t, "xapp1", net)), identityID(n2.endpointOf(t, "xapp1b", net)); a != b || a == 0 {
		t.Fatalf("identity of name=xapp1: node 1 %d, node 2 %d; want equal", a, b)
	}
	app2 := n2.containerIP(t, "xapp2", net).String()
	eventually(t, 30*time.Second, "ping node1/xapp1 -> node2/xapp2", func() error {
		_, err := n1.docker(t, "exec", "xapp1", "ping", "-c", "1", "-W", "1", app2)
		return err
	})
	eventually(t, 10*time.Second, "tcp node1/xapp1 -> node2/xapp2", func() error { return tcp(n1, t, "xapp1", app2) })

	enforce(t, n1, n2.env["POLICY_DIR"], "xapp2.yaml", policyOnlyFrom("xapp2", "xapp3"), "xapp1", "xapp3", app2)
}
