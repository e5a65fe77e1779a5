package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// fqdnPolicy lets name=fq1 ask the peer's DNS server anything (through the agent's DNS proxy) and
// reach, on TCP 8080, only what allowed.test resolves to.
const fqdnPolicy = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: fq1-to-allowed-test}
spec:
  endpointSelector: {matchLabels: {name: fq1}}
  egress:
  - toCIDR: [` + bed.PeerAddr + `/32]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns: [{matchPattern: "*"}]
  - toFQDNs: [{matchName: allowed.test}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
`

// TestToFQDNs: with the agent's L7 proxy on (compose/agent-config, the bed's agents too), a toFQDNs
// policy applied with `cilium-docker policy apply` holds a container to the names it may reach. The
// peer runs a DNS server (allowed.test is the peer, denied.test a second peer address) and a TCP
// server on both addresses. Before any lookup both addresses are blocked; after looking up denied.test
// its address stays blocked; after looking up allowed.test (through Docker's embedded DNS, whose
// forwarded query the agent's DNS proxy sees) its address is reachable.
func TestToFQDNs(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cilium-fq"
	nd.Network(t, net)
	const denied = "192.168.77.250"
	nd.PeerAddAddress(t, denied+"/24")
	nd.PeerProcess(t, "/dev/null", "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--user=root",
		"--listen-address="+bed.PeerAddr, "--bind-interfaces", "--pid-file=",
		"--address=/allowed.test/"+bed.PeerAddr, "--address=/denied.test/"+denied)
	nd.PeerProcess(t, "/dev/null", "busybox", "nc", "-ll", "-p", "8080", "-e", "/bin/echo", "pong")
	nd.Run(t, "fq1", "-l", "name=fq1", "--dns", bed.PeerAddr, "--net", net, bed.Image, "sleep", "100000")
	lookup := func(name, want string) {
		t.Helper()
		bed.Eventually(t, 10*time.Second, "fq1 resolves "+name, func() error {
			out, _ := nd.Docker(t, "exec", "fq1", "nslookup", "-type=a", name)
			if !strings.Contains(out, "Address: "+want) && !strings.Contains(out, "Address 1: "+want) {
				return fmt.Errorf("nslookup %s: %q", name, out)
			}
			return nil
		})
	}
	for _, addr := range []string{bed.PeerAddr, denied} { // the servers answer without a policy
		bed.Eventually(t, 10*time.Second, "fq1 reaches "+addr, func() error { return nd.TCP(t, "fq1", addr) })
	}

	nd.MustPolicy(t, "apply", bed.PolicyFile(t, "fqdn.yaml", fqdnPolicy))
	t.Cleanup(func() { nd.MustPolicy(t, "delete", "fq1-to-allowed-test") })
	// The first DNS rule on an agent makes it compile the endpoint's program with the proxy redirect:
	// 10 to 30 s on this machine for 1.19.
	applied := time.Now()
	bed.Eventually(t, 90*time.Second, "the policy blocks both addresses before any lookup", func() error {
		if err := nd.Blocked(t, "fq1", bed.PeerAddr); err != nil {
			return err
		}
		return nd.Blocked(t, "fq1", denied)
	})
	t.Logf("policy applied -> enforced in %.1f s", time.Since(applied).Seconds())
	lookup("denied.test", denied)
	if err := nd.Blocked(t, "fq1", denied); err != nil {
		t.Fatalf("after looking up denied.test: %v", err)
	}
	lookup("allowed.test", bed.PeerAddr)
	bed.Eventually(t, 10*time.Second, "fq1 reaches allowed.test's address after the lookup", func() error {
		return nd.TCP(t, "fq1", bed.PeerAddr)
	})
	if err := nd.Blocked(t, "fq1", denied); err != nil {
		t.Fatalf("after looking up allowed.test: %v", err)
	}
}
