package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// server is the shell of a container answering "pong" on TCP 8080.
const server = "while true; do echo pong | nc -l -p 8080; done"

// TestPolicyIdentityLabels proves issue 10 §1 on the real agent: every container carries
// k8s:io.kubernetes.pod.namespace and k8s:io.cilium.k8s.policy.cluster (user labels with those keys
// refused), so that a plain CCNP selects containers, a namespaced CNP applies to its compose project
// only, and toEntities/fromEntities cluster includes containers.
func TestPolicyIdentityLabels(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cilium-pl"
	nd.Network(t, net)
	nd.Run(t, "plapp1", "-l", "name=app1", "-l", "io.kubernetes.pod.namespace=kube-system",
		"-l", "io.cilium.k8s.policy.cluster=other", "--net", net, bed.Image, "sleep", "100000")
	nd.Run(t, "plapp3", "-l", "name=app3", "--net", net, bed.Image, "sleep", "100000")
	nd.Run(t, "plapp2", "-l", "name=app2", "--net", net, bed.Image, "sh", "-c", server)
	app2 := nd.ContainerIP(t, "plapp2", net).String()
	bed.Eventually(t, 20*time.Second, "tcp app1 -> app2", func() error { return nd.TCP(t, "plapp1", app2) })

	t.Run("identity labels: namespace docker, the agent's cluster, user labels with those keys refused", func(t *testing.T) {
		labels := bed.IdentityLabels(nd.EndpointOf(t, "plapp1", net))
		for _, l := range []string{"container:name=app1", "k8s:io.kubernetes.pod.namespace=docker", "k8s:io.cilium.k8s.policy.cluster=local"} {
			if !bed.HasLabel(labels, l) {
				t.Fatalf("identity labels %v: want %s", labels, l)
			}
		}
		for _, l := range labels {
			if strings.Contains(l, "kube-system") || strings.Contains(l, "=other") {
				t.Fatalf("identity labels %v: a user label with a stamped key got through", labels)
			}
		}
	})

	t.Run("a plain CCNP matches containers", func(t *testing.T) {
		bed.Enforce(t, nd, nd.PolicyDir(), "pl-plain.yaml", bed.PolicyOnlyFrom("app2", "app1"), "plapp3", "plapp1", app2)
	})

	t.Run("the cluster entity includes containers", func(t *testing.T) {
		// Egress of app1 only to the cluster: app2 (a container) stays reachable. Without the cluster
		// label containers were outside the entity and app1 lost app2.
		const p = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: app1-to-cluster}
spec:
  endpointSelector: {matchLabels: {name: app1}}
  egress: [{toEntities: [cluster]}]
`
		bed.WriteAtomic(t, nd.PolicyDir(), "pl-cluster.yaml", p)
		bed.Eventually(t, 20*time.Second, "egress enforced on app1", func() error {
			ep := nd.EndpointOf(t, "plapp1", net)
			if ep.Status.Policy == nil || ep.Status.Policy.Realized == nil ||
				(ep.Status.Policy.Realized.PolicyEnabled != "egress" && ep.Status.Policy.Realized.PolicyEnabled != "both") {
				return fmt.Errorf("app1's policy enforcement: %+v", ep.Status.Policy)
			}
			return nil
		})
		bed.Consistently(t, 3*time.Second, "app1 reaches app2 under toEntities: [cluster]", func() error { return nd.TCP(t, "plapp1", app2) })
	})

	t.Run("a namespaced CNP applies to its compose project only", func(t *testing.T) {
		for _, p := range []string{"proja", "projb"} {
			lbl := "com.docker.compose.project=" + p
			nd.Run(t, p+"-app2", "-l", "name=app2", "-l", lbl, "--net", net, bed.Image, "sh", "-c", server)
			nd.Run(t, p+"-app1", "-l", "name=app1", "-l", lbl, "--net", net, bed.Image, "sleep", "100000")
		}
		a2, b2 := nd.ContainerIP(t, "proja-app2", net).String(), nd.ContainerIP(t, "projb-app2", net).String()
		if l := bed.IdentityLabels(nd.EndpointOf(t, "proja-app2", net)); !bed.HasLabel(l, "k8s:io.kubernetes.pod.namespace=proja") {
			t.Fatalf("proja-app2's identity labels %v: want namespace proja", l)
		}
		bed.Eventually(t, 20*time.Second, "projb app1 -> app2", func() error { return nd.TCP(t, "projb-app1", b2) })
		const p = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: app2-from-app3, namespace: proja}
spec:
  endpointSelector: {matchLabels: {name: app2}}
  ingress: [{fromEndpoints: [{matchLabels: {name: app3}}]}]
`
		bed.WriteAtomic(t, nd.PolicyDir(), "pl-ns.yaml", p)
		bed.Eventually(t, 20*time.Second, "proja's app1 blocked from proja's app2", func() error { return nd.Blocked(t, "proja-app1", a2) })
		if err := nd.TCP(t, "projb-app1", b2); err != nil {
			t.Fatalf("projb's app2 affected by proja's policy: %v", err)
		}
		if err := nd.TCP(t, "plapp1", b2); err != nil { // namespace docker
			t.Fatalf("docker's app1 to projb's app2: %v", err)
		}
	})
}

// TestPolicyCommand proves `cilium-docker policy check` and `apply` against the bed's etcd: good
// files pass, bad ones are refused (exit 1) and nothing is stored, usage errors exit 2.
func TestPolicyCommand(t *testing.T) {
	nd := bed.Up(t, 1)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	profile := filepath.Join(bed.RepoRoot(), "compose", "policy-examples", "profile.json")
	bad := map[string]string{
		"syntax.yaml":  "apiVersion: cilium.io/v2\nkind: [unclosed\n",
		"multi.yaml":   bed.PolicyOnlyFrom("a", "b") + "---\n" + bed.PolicyOnlyFrom("c", "d"),
		"empty.yaml":   "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: empty}\nspec: {}\n",
		"badrule.json": `[{"endpointSelector":{"matchLabels":{"a":"b"}},"ingress":[{"toPorts":[{"ports":[{"port":"99999"}]}]}]}]`,
		"legacy.yaml": `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: legacy}
spec:
  endpointSelector: {matchLabels: {name: app2}}
  ingress:
  - fromEndpoints:
    - matchLabels: {name: app3}
      matchExpressions: [{key: io.kubernetes.pod.namespace, operator: DoesNotExist}]
`,
	}
	out := nd.MustPolicy(t, "check", profile)
	if !strings.Contains(out, "CiliumClusterwideNetworkPolicy app2-from-app1") {
		t.Fatalf("check profile.json: %s", out)
	}
	for name, content := range bad {
		p := write(name, content)
		for _, sub := range []string{"check", "apply"} {
			out, code := nd.PolicyCLI(t, sub, p)
			if code != 1 || !strings.Contains(out, "refused") {
				t.Errorf("policy %s %s: exit %d, want 1 (refused):\n%s", sub, name, code, out)
			}
			if name == "legacy.yaml" && sub == "check" && !strings.Contains(out, "# rewrite of legacy") {
				t.Errorf("policy check legacy.yaml prints no rewrite:\n%s", out)
			}
		}
	}
	var listed struct {
		Policies []struct{ Key string } `json:"policies"`
	}
	if err := json.Unmarshal([]byte(nd.MustPolicy(t, "list", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	for _, p := range listed.Policies {
		if p.Key == "empty" || p.Key == "legacy" || p.Key == "a-from-b-only" {
			t.Errorf("a refused policy was stored: %s", p.Key)
		}
	}
	if _, code := nd.PolicyCLI(t, "check"); code != 2 {
		t.Errorf("policy check without files: exit %d, want 2", code)
	}
	if _, code := nd.PolicyCLI(t, "frobnicate"); code != 2 {
		t.Errorf("policy frobnicate: exit %d, want 2", code)
	}
	if out, code := nd.PolicyCLI(t, "apply", "--help"); code != 0 || !strings.Contains(out, "--local") {
		t.Errorf("policy apply --help: exit %d\n%s", code, out)
	}
}
