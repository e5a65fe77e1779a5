package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSingleNode is the one-node walkthrough against the real engine and agent. Its steps share one
// network and build on each other, in the order a user takes them.
func TestSingleNode(t *testing.T) {
	nd := upNode(t, 1)
	fam := nd.agentRange(t)
	net := "cilium-net"
	nd.network(t, net)

	t.Run("network inspect shows the cilium driver and the agent router as gateway", func(t *testing.T) {
		out := nd.must(t, "network", "inspect", "-f", "{{.Driver}} {{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", net)
		want := fmt.Sprintf("cilium cilium 0.0.0.0/0 %s", fam.Router)
		if out != want {
			t.Fatalf("network inspect: got %q, want %q", out, want)
		}
	})

	nd.run(t, "app1", "-l", "name=app1", "--net", net, image, "sleep", "100000")
	ep := nd.endpointOf(t, "app1", net) // read right after docker run returned
	t.Run("endpoint is ready under its labels when docker run returns", func(t *testing.T) {
		if got := state(ep); got != "ready" {
			t.Fatalf("endpoint state right after docker run: got %q, want ready", got)
		}
		labels := identityLabels(ep)
		if !hasLabel(labels, "container:name=app1") || hasPrefix(labels, "reserved:") {
			t.Fatalf("identity labels: got %v, want container:name=app1 and no reserved label", labels)
		}
		for _, l := range ep.Status.Log {
			if strings.Contains(l.Message, "reserved:init") {
				t.Fatalf("endpoint went through reserved:init: %q", l.Message)
			}
		}
		ip := nd.containerIP(t, "app1", net)
		if !fam.Range.Contains(ip) {
			t.Fatalf("container address %s outside the agent's range %s", ip, fam.Range)
		}
		mac := nd.must(t, "exec", "app1", "cat", "/sys/class/net/eth0/address")
		if ep.Status.Networking == nil || ep.Status.Networking.Mac != mac {
			t.Fatalf("container MAC %q, agent endpoint mac %+v", mac, ep.Status.Networking)
		}
		if ep.Status.Networking.Addressing[0].IPv4 != ip.String() {
			t.Fatalf("agent endpoint address %q, container address %s", ep.Status.Networking.Addressing[0].IPv4, ip)
		}
	})

	app2 := nd.startPeers(t, net)

	t.Run("a label-selected policy blocks app1 and admits app3, removal restores app1", func(t *testing.T) {
		enforce(t, nd, nd.env["POLICY_DIR"], "app2-from-app3-only.yaml", policyOnlyFrom("app2", "app3"), "app1", "app3", app2)
	})

	t.Run("container on a cilium network and the default bridge starts", func(t *testing.T) {
		nd.must(t, "create", "--pull", "never", "--init", "--name", "multi", "-l", "name=multi", "--net", net, image, "sleep", "100000")
		t.Cleanup(func() { nd.bestEffort(t, "rm", "-f", "multi") })
		nd.must(t, "network", "connect", "bridge", "multi")
		nd.must(t, "start", "multi")
		nd.must(t, "exec", "multi", "ping", "-c", "1", "-W", "2", app2)
		routes := nd.must(t, "exec", "multi", "ip", "route")
		if strings.Count(routes, "default") != 1 {
			t.Fatalf("want exactly one default route, got:\n%s", routes)
		}
	})
}

// tcp sends a line from container from to addr:8080 and expects "pong" back.
func tcp(nd *node, t testing.TB, from, addr string) error {
	out, err := nd.docker(t, "exec", from, "sh", "-c", "echo ping | nc -w 2 "+addr+" 8080")
	if err != nil {
		return fmt.Errorf("nc %s -> %s:8080: %w %q", from, addr, err, out)
	}
	if !strings.Contains(out, "pong") {
		return fmt.Errorf("nc %s -> %s:8080: no pong: %q", from, addr, out)
	}
	return nil
}

// writeAtomic writes a policy file beside dir and renames it in, as the agent needs.
func writeAtomic(t testing.TB, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(dir), "."+name)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(dir, name)) })
}

// policyOnlyFrom is a CiliumClusterwideNetworkPolicy admitting ingress to name=subject only from
// name=peer. Container endpoints carry neither a Kubernetes namespace nor a cluster label, and the agent
// adds both to every peer selector, so the peer selector must say they do not exist.
func policyOnlyFrom(subject, peer string) string {
	return fmt.Sprintf(`apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: %[1]s-from-%[2]s-only}
spec:
  endpointSelector: {matchLabels: {"container:name": %[1]s}}
  ingress:
  - fromEndpoints:
    - matchLabels: {"container:name": %[2]s}
      matchExpressions:
      - {key: io.kubernetes.pod.namespace, operator: DoesNotExist}
      - {key: io.cilium.k8s.policy.cluster, operator: DoesNotExist}
`, subject, peer)
}
