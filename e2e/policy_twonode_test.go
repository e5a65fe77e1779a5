package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// policyStatus is what `policy list --json` says of one policy.
type policyStatus struct {
	Key      string `json:"key"`
	Revision int64  `json:"revision"`
	Nodes    []struct {
		Node     string `json:"node"`
		Revision int64  `json:"revision"`
		Error    string `json:"error"`
		Pending  bool   `json:"pending"`
	} `json:"nodes"`
}

func listPolicies(t *testing.T, nd *bed.Node) map[string]policyStatus {
	t.Helper()
	var l struct {
		Policies []policyStatus `json:"policies"`
	}
	if err := json.Unmarshal([]byte(nd.MustPolicy(t, "list", "--json")), &l); err != nil {
		t.Fatal(err)
	}
	out := map[string]policyStatus{}
	for _, p := range l.Policies {
		out[p.Key] = p
	}
	return out
}

// appliedEverywhere is nil when the policy key is at its revision on n nodes, without error.
func appliedEverywhere(t *testing.T, nd *bed.Node, key string, n int) error {
	p, ok := listPolicies(t, nd)[key]
	if !ok {
		return fmt.Errorf("policy %s not listed", key)
	}
	good := 0
	for _, s := range p.Nodes {
		if s.Revision == p.Revision && s.Error == "" && !s.Pending {
			good++
		}
	}
	if good != n {
		return fmt.Errorf("policy %s revision %d: nodes %+v, want %d at that revision", key, p.Revision, p.Nodes, n)
	}
	return nil
}

// TestPolicyTwoNodes is issue 10's proof: `cilium-docker policy apply` of the classic profile.json
// ("app2 admits only app1 on TCP 8080") is enforced on both nodes, list shows both at its revision, a bad
// document stored straight into etcd is skipped with an error status while the agent keeps running and
// enforcing, etcd down keeps the policies, a policy applied once it is back reaches the nodes, the agent
// restarts cleanly, and delete restores access.
func TestPolicyTwoNodes(t *testing.T) {
	n1 := bed.Up(t, 1)
	n2 := bed.Up(t, 2)
	t.Cleanup(func() { n2.Down(t) })
	net := "cilium-pt"
	n1.Network(t, net)
	n2.Network(t, net)
	nodes := []*bed.Node{n1, n2}
	// On each node: app2 (server), app1 and app3 (clients). Each client reaches the other node's app2.
	app2 := map[int]string{}
	for _, nd := range nodes {
		p := fmt.Sprintf("n%d", nd.N)
		nd.Run(t, p+"app2", "-l", "name=app2", "--net", net, bed.Image, "sh", "-c", server)
		nd.Run(t, p+"app1", "-l", "name=app1", "--net", net, bed.Image, "sleep", "100000")
		nd.Run(t, p+"app3", "-l", "name=app3", "--net", net, bed.Image, "sleep", "100000")
		app2[nd.N] = nd.ContainerIP(t, p+"app2", net).String()
	}
	other := func(nd *bed.Node) string { return app2[3-nd.N] }
	client := func(nd *bed.Node, app string) string { return fmt.Sprintf("n%d%s", nd.N, app) }
	for _, nd := range nodes {
		bed.Eventually(t, 30*time.Second, "app3 reaches the other node's app2", func() error { return nd.TCP(t, client(nd, "app3"), other(nd)) })
	}
	if a, b := bed.IdentityID(n1.EndpointOf(t, "n1app1", net)), bed.IdentityID(n2.EndpointOf(t, "n2app1", net)); a != b || a == 0 {
		t.Fatalf("identity of name=app1: node 1 %d, node 2 %d; want equal", a, b)
	}

	// The nodes are checked side by side (a blocked attempt waits out nc's 2 s), each with the whole
	// timeout for each of its checks.
	onEach := func(check func(nd *bed.Node) error) {
		t.Helper()
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, nd := range nodes {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = check(nd) }()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	enforced := func(what string, timeout time.Duration) {
		t.Helper()
		onEach(func(nd *bed.Node) error {
			if err := bed.Poll(timeout, fmt.Sprintf("%s: node %d's app3 blocked", what, nd.N), func() error { return nd.Blocked(t, client(nd, "app3"), other(nd)) }); err != nil {
				return err
			}
			return bed.Poll(timeout, fmt.Sprintf("%s: node %d's app1 admitted", what, nd.N), func() error { return nd.TCP(t, client(nd, "app1"), other(nd)) })
		})
	}
	lifted := func(what string, timeout time.Duration) {
		t.Helper()
		onEach(func(nd *bed.Node) error {
			return bed.Poll(timeout, fmt.Sprintf("%s: node %d's app3 admitted", what, nd.N), func() error { return nd.TCP(t, client(nd, "app3"), other(nd)) })
		})
	}

	profile := filepath.Join(bed.RepoRoot(), "compose", "policy-examples", "profile.json")
	t0 := time.Now()
	out := n1.MustPolicy(t, "apply", profile)
	if !strings.Contains(out, "app2-from-app1 revision") {
		t.Fatalf("apply: %s", out)
	}
	enforced("profile.json applied", 10*time.Second)
	t.Logf("enforcement latency: profile.json applied -> enforced on both nodes in %.1f s", time.Since(t0).Seconds())
	bed.Eventually(t, 10*time.Second, "list shows both nodes at the applied revision", func() error {
		return appliedEverywhere(t, n1, "app2-from-app1", 2)
	})
	t.Logf("policy list:\n%s", n1.MustPolicy(t, "list"))

	t.Run("flows on node 2 name the containers of node 1", func(t *testing.T) {
		// Node 2's Hubble knows node 1's containers only from the cluster's ipcache (the k8s-namespace
		// and k8s-pod-name the plugin sends): the names prove they crossed.
		dst := "n2app2"
		done := make(chan struct{})
		go func() { _ = n1.TCP(t, client(n1, "app3"), other(n1)); close(done) }() // blocked: nc waits 2 s
		defer func() { <-done }()
		if err := n1.TCP(t, client(n1, "app1"), other(n1)); err != nil {
			t.Fatal(err)
		}
		bed.Eventually(t, 10*time.Second, "node 1's drop and forward in node 2's flows", func() error {
			if fl := flows(t, n2, dst, "--verdict", "DROPPED", "--since", "60s"); !hasFlow(fl, "n1app3", dst, "DROPPED") {
				return fmt.Errorf("no n1app3 -> %s drop in %+v", dst, fl)
			}
			fl := flows(t, n2, dst, "--verdict", "FORWARDED", "--since", "60s")
			if !hasFlow(fl, "n1app1", dst, "FORWARDED") {
				return fmt.Errorf("no n1app1 -> %s forwarded flow in %d flows", dst, len(fl))
			}
			for _, f := range fl {
				if f.Source.Name == "n1app1" && f.Source.Namespace != "docker" {
					return fmt.Errorf("n1app1 named in namespace %q, want docker", f.Source.Namespace)
				}
			}
			return nil
		})
	})

	t.Run("a bad document stored straight into etcd is skipped with an error status", func(t *testing.T) {
		pid := n2.PID(t, bed.Agent)
		n1.Etcdctl(t, "put", "cilium-docker/policy/v1/policies/broken", "apiVersion: cilium.io/v2\nkind: [unclosed\n")
		t.Cleanup(func() { n1.Etcdctl(t, "del", "cilium-docker/policy/v1/policies/broken") })
		bed.Eventually(t, 10*time.Second, "an error status for the bad document on both nodes", func() error {
			p := listPolicies(t, n1)["broken"]
			errs := 0
			for _, s := range p.Nodes {
				if strings.Contains(s.Error, "not applied") {
					errs++
				}
			}
			if errs != 2 {
				return fmt.Errorf("broken: %+v", p)
			}
			return nil
		})
		for _, nd := range nodes {
			if n := nd.Exec(t, "sh", "-c", "ls "+nd.PolicyDir()+" | grep -c broken || true"); strings.TrimSpace(n) != "0" {
				t.Fatalf("node %d: the bad document was written", nd.N)
			}
		}
		if got := n2.PID(t, bed.Agent); got != pid {
			t.Fatalf("node 2's agent restarted (pid %d -> %d)", pid, got)
		}
		enforced("with a bad document beside it", 10*time.Second)
		n2.Restart(t, bed.Agent) // waits for health Ok: no crash loop from a file we wrote
		t1 := time.Now()
		enforced("after node 2's agent restart", 30*time.Second)
		t.Logf("enforcement latency: agent restarted (healthy) -> enforced again in %.1f s", time.Since(t1).Seconds())
	})

	t.Run("etcd down keeps the policies; a policy applied once it is back reaches the nodes", func(t *testing.T) {
		n1.Stop(t, bed.Etcd)
		stopped := true
		t.Cleanup(func() {
			if stopped { // the test failed while etcd was down: the bed needs it
				n1.Start(t, bed.Etcd)
			}
		})
		bed.Consistently(t, 8*time.Second, "the policy stays enforced while etcd is down", func() error {
			return n2.Blocked(t, client(n2, "app3"), other(n2))
		})
		n1.Start(t, bed.Etcd)
		stopped = false
		// A second policy on app2 admits app3 as well (allow rules add up).
		extra := bed.PolicyFile(t, "app2-from-app3.yaml", bed.PolicyOnlyFrom("app2", "app3"))
		t2 := time.Now()
		n1.MustPolicy(t, "apply", extra)
		lifted("the policy applied after etcd came back", 20*time.Second)
		t.Logf("enforcement latency: applied after etcd restart -> enforced on both nodes in %.1f s", time.Since(t2).Seconds())
		bed.Eventually(t, 20*time.Second, "the new policy is at its revision on both nodes", func() error {
			return appliedEverywhere(t, n1, "app2-from-app3-only", 2)
		})
		n1.MustPolicy(t, "delete", "app2-from-app3-only")
		enforced("the second policy deleted", 10*time.Second)
	})

	t3 := time.Now()
	n1.MustPolicy(t, "delete", "app2-from-app1")
	lifted("profile deleted", 10*time.Second)
	t.Logf("enforcement latency: delete -> app3 admitted again on both nodes in %.1f s", time.Since(t3).Seconds())
	if _, code := n1.PolicyCLI(t, "get", "app2-from-app1"); code != 1 {
		t.Errorf("get of a deleted policy: exit %d, want 1", code)
	}
}
