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
// forwarded query the agent's DNS proxy sees) its address is reachable. `flows --explain` on the drop
// to denied.test suggests a toFQDNs policy that, applied, lets exactly that flow pass (issue 21); an
// egressDeny rule then wins over the toFQDNs allow of allowed.test, and its drop is explained by that
// rule, with no suggestion.
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
	nd.PeerProcess(t, "/dev/null", "busybox", "nc", "-ll", "-p", "8081", "-e", "/bin/echo", "pong")
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
	bed.Eventually(t, 10*time.Second, "fq1 reaches denied.test's address on 8081", func() error { return tcp8081(t, nd, "fq1", denied) })

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

	t.Run("flows --explain suggests toFQDNs for a name resolved through the proxy; applied, exactly that flow passes", func(t *testing.T) {
		f := explainedDrop(t, nd, "fq1", denied, "POLICY_DENIED", func(why, suggestion string) bool {
			return strings.Contains(why, "default deny") && strings.Contains(suggestion, `toFQDNs:`) &&
				strings.Contains(suggestion, `matchName: "denied.test"`) && !strings.Contains(suggestion, "toCIDR") &&
				strings.Contains(suggestion, `port: "8080", protocol: TCP`)
		})
		name := policyName(f.Explanation.Suggestion)
		nd.MustPolicy(t, "apply", bed.PolicyFile(t, "suggestion.yaml", f.Explanation.Suggestion))
		t.Cleanup(func() { nd.MustPolicy(t, "delete", name) })
		bed.Eventually(t, 30*time.Second, "fq1 reaches denied.test:8080 under the suggested policy", func() error { return nd.TCP(t, "fq1", denied) })
		if err := tcp8081(t, nd, "fq1", denied); err == nil {
			t.Error("the suggested policy lets fq1 reach denied.test:8081 too")
		}
	})

	t.Run("a deny rule wins over the toFQDNs allow, and flows --explain names it with no suggestion", func(t *testing.T) {
		deny := `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: fq1-deny-allowed-test}
spec:
  endpointSelector: {matchLabels: {name: fq1}}
  egressDeny:
  - toCIDR: [` + bed.PeerAddr + `/32]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
`
		nd.MustPolicy(t, "apply", bed.PolicyFile(t, "deny.yaml", deny))
		t.Cleanup(func() { nd.MustPolicy(t, "delete", "fq1-deny-allowed-test") })
		bed.Eventually(t, 30*time.Second, "the deny rule blocks allowed.test, which toFQDNs allows", func() error {
			return nd.Blocked(t, "fq1", bed.PeerAddr)
		})
		// The agent read the rule from its policy directory: Hubble names it by its file.
		explainedDrop(t, nd, "fq1", bed.PeerAddr, "POLICY_DENY", func(why, suggestion string) bool {
			return strings.Contains(why, "deny rule of CiliumClusterwideNetworkPolicy in file ") &&
				strings.Contains(why, "fq1-deny-allowed-test") && strings.Contains(why, "cannot undo") && suggestion == ""
		})
	})
}

// explainedDrop is a drop of from's connection to addr:8080 for reason, as `flows --explain` shows it,
// whose explanation ok accepts (Hubble reports a connection's drop more than once, as a policy verdict
// and as a drop, and only the verdict names the policies).
func explainedDrop(t *testing.T, nd *bed.Node, from, addr, reason string, ok func(why, suggestion string) bool) flowLine {
	t.Helper()
	var got flowLine
	bed.Eventually(t, 15*time.Second, "the drop of "+from+" -> "+addr+":8080 ("+reason+") explained in flows", func() error {
		var seen []string
		for _, f := range flows(t, nd, from, "--verdict", "DROPPED", "--since", "1m", "--explain") {
			if f.Source.Name != from || f.Destination.IP != addr || f.Destination.Port != 8080 || f.DropReason != reason || f.Explanation == nil {
				continue
			}
			if ok(f.Explanation.Why, f.Explanation.Suggestion) {
				got = f
				return nil
			}
			seen = append(seen, fmt.Sprintf("why %q, suggestion %q", f.Explanation.Why, f.Explanation.Suggestion))
		}
		return fmt.Errorf("no such explained drop; explained otherwise: %v", seen)
	})
	t.Logf("why: %s\nsuggestion:\n%s", got.Explanation.Why, got.Explanation.Suggestion)
	return got
}

// policyName is the metadata name of a suggested policy.
func policyName(doc string) string {
	for _, l := range strings.Split(doc, "\n") {
		if n, ok := strings.CutPrefix(l, "  name: "); ok {
			return n
		}
	}
	return ""
}

// tcp8081 is bed.Node.TCP on port 8081: nil when from gets the peer's answer.
func tcp8081(t *testing.T, nd *bed.Node, from, addr string) error {
	t.Helper()
	out, err := nd.Docker(t, "exec", from, "sh", "-c", "echo ping | nc -w 2 "+addr+" 8081")
	if err != nil {
		return fmt.Errorf("nc %s -> %s:8081: %w %q", from, addr, err, out)
	}
	if !strings.Contains(out, "pong") {
		return fmt.Errorf("nc %s -> %s:8081: no pong: %q", from, addr, out)
	}
	return nil
}
