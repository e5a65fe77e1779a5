package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestComposeStackEtcdMembers is the compose stack with a three-member etcd (issue 20, point 3): nodes 1-3
// each run their stack with an etcd member (node1.yml; node2.yml with COMPOSE_PROFILES=etcd), peer URLs
// on the nodes' addresses over mutual TLS, every service given all three endpoints. One member stopped:
// `policy apply`, a new container and cross-node traffic keep working; started again, it has everything.
// Two stopped: writes fail with an error, running containers keep talking and the policy stays enforced;
// started again, the cluster converges by itself and takes writes.
func TestComposeStackEtcdMembers(t *testing.T) {
	bed.SkipUnlessBed(t)
	keepAbsent(t, "/lib/modules") // the agent service binds it; docker creates it when the kernel has none
	bed.DownAll(t)
	t.Cleanup(func() { bed.DownAll(t) }) // runs before keepAbsent's cleanup

	start := time.Now()
	nodes := []*bed.Node{bed.Up(t, 1, bed.WithPluginMode("stack")), bed.Up(t, 2, bed.WithPluginMode("stack")),
		bed.Up(t, 3, bed.WithPluginMode("stack"))}
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	pki := bed.NewPKI(t)
	var ips, members []string
	for _, nd := range nodes {
		ips = append(ips, nd.IP())
		members = append(members, nd.NodeName()+"="+peerURL(nd))
	}
	stacks := make([]*bed.Stack, len(nodes))
	for i, nd := range nodes {
		extra := map[string]string{"ETCD_PEER_URL": peerURL(nd), "ETCD_INITIAL_CLUSTER": strings.Join(members, ",")}
		if nd.N != 1 {
			extra["COMPOSE_PROFILES"] = "etcd" // node2.yml's etcd service
		}
		stacks[i] = nd.NewStack(t, pki, ips, extra)
		s, n := stacks[i], nd.N
		// No file policy: the label policy comes from etcd (policy apply) below.
		if err := os.Remove(filepath.Join(s.PolicyDir(), "app2-from-app3.yaml")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s on node %d:\n%s", s.File, n, s.Logs(t, 40))
			}
		})
	}
	bed.LoadStackImagesOn(t, nodes...)
	s1 := stacks[0]
	t.Logf("leg %s: three nodes, images loaded in %s", n1.Leg, time.Since(start).Round(100*time.Millisecond))
	// A member waits for a quorum: the three come up together.
	var waits []func() (string, error)
	for _, s := range stacks {
		waits = append(waits, s.ComposeAsync(t, 8*time.Minute, "up", "-d", "--wait", "--wait-timeout", "420"))
	}
	for i, wait := range waits {
		if out, err := wait(); err != nil {
			t.Fatalf("node %d: docker compose up -d --wait: %v\n%s", i+1, err, out)
		}
	}
	t.Logf("leg %s: three stacks up in %s", n1.Leg, time.Since(start).Round(100*time.Millisecond))
	bed.Eventually(t, time.Minute, "three members, all started", func() error {
		out, err := etcdctl(t, n1, "member", "list")
		if err != nil {
			return fmt.Errorf("member list: %w\n%s", err, out)
		}
		if strings.Count(out, ", started, ") != 3 {
			return fmt.Errorf("member list: not three started:\n%s", out)
		}
		return nil
	})

	net := "cilium-net"
	for _, nd := range nodes {
		nd.Must(t, "network", "create", "--driver", "cilium", "--ipam-driver", "cilium", net)
	}
	n2.Must(t, "run", "-d", "--pull", "never", "--init", "--name", "app2", "-l", "name=app2", "--net", net, bed.Image, "sh", "-c", server)
	n1.Must(t, "run", "-d", "--pull", "never", "--init", "--name", "app1", "-l", "name=app1", "--net", net, bed.Image, "sleep", "100000")
	app2 := n2.ContainerIP(t, "app2", net).String()
	bed.Eventually(t, time.Minute, "app1 on node 1 -> app2 on node 2", func() error { return n1.TCP(t, "app1", app2) })
	example := filepath.Join(bed.RepoRoot(), "compose", "policy-examples", "app2-from-app3.json")

	t.Run("one member stopped: policy apply, a new container and cross-node traffic work", func(t *testing.T) {
		phase := time.Now()
		n3.Must(t, "stop", "cilium-etcd")
		if out, rc := s1.Policy(t, example, "apply", "-"); rc != 0 || !strings.Contains(out, "app2-from-app3 revision") {
			t.Fatalf("policy apply with node 3's member stopped: exit %d\n%s", rc, out)
		}
		bed.Eventually(t, time.Minute, "app1 blocked by the applied policy", func() error { return n1.Blocked(t, "app1", app2) })
		// A new container: its address, its identity (an etcd key) and the policy admitting it.
		n3.Must(t, "run", "-d", "--pull", "never", "--init", "--name", "app3", "-l", "name=app3", "--net", net, bed.Image, "sleep", "100000")
		bed.Eventually(t, time.Minute, "app3, new on node 3, admitted to app2 on node 2", func() error { return n3.TCP(t, "app3", app2) })
		t.Logf("one member down: %s", time.Since(phase).Round(100*time.Millisecond))
	})

	t.Run("the member started again has everything", func(t *testing.T) {
		phase := time.Now()
		n3.Must(t, "start", "cilium-etcd")
		// Its own copy (a serializable read answers from the member itself): the policy written while it was
		// stopped, and node 3's range.
		bed.Eventually(t, 2*time.Minute, "node 3's member caught up", func() error {
			out, err := etcdctl(t, n3, "get", "--consistency=s", "--prefix", "--keys-only", "cilium-docker/")
			if err != nil {
				return fmt.Errorf("node 3's member: %w\n%s", err, out)
			}
			if !strings.Contains(out, "app2-from-app3") || !strings.Contains(out, n3.NodeName()) {
				return fmt.Errorf("node 3's member lacks the policy or node 3's range:\n%s", out)
			}
			return nil
		})
		t.Logf("one member back: %s", time.Since(phase).Round(100*time.Millisecond))
	})

	t.Run("two members stopped: writes fail, traffic and the policy stay", func(t *testing.T) {
		phase := time.Now()
		n2.Must(t, "stop", "cilium-etcd")
		n3.Must(t, "stop", "cilium-etcd")
		out, rc := s1.Policy(t, example, "apply", "-")
		if rc == 0 {
			t.Fatalf("policy apply with two of three members stopped succeeded:\n%s", out)
		}
		t.Logf("policy apply without a quorum: exit %d in %s: %s", rc, time.Since(phase).Round(100*time.Millisecond), lastLines(out, 2))
		if !strings.Contains(out, "etcd put") || !strings.Contains(out, "majority of the etcd members") {
			t.Errorf("policy apply without a quorum: the error does not say that etcd's majority did not answer:\n%s", out)
		}
		if err := n3.TCP(t, "app3", app2); err != nil {
			t.Errorf("app3 -> app2 without a quorum: %v", err)
		}
		if err := n1.Blocked(t, "app1", app2); err != nil {
			t.Errorf("app1 -> app2 without a quorum: %v", err)
		}
		t.Logf("two members down: %s", time.Since(phase).Round(100*time.Millisecond))
	})

	t.Run("both started again: the cluster converges and takes writes", func(t *testing.T) {
		phase := time.Now()
		n2.Must(t, "start", "cilium-etcd")
		n3.Must(t, "start", "cilium-etcd")
		bed.Eventually(t, 3*time.Minute, "every member healthy", func() error {
			out, err := etcdctl(t, n1, "endpoint", "health", "--cluster")
			if err != nil {
				return fmt.Errorf("endpoint health --cluster: %w\n%s", err, out)
			}
			if strings.Count(out, " is healthy") != 3 {
				return fmt.Errorf("endpoint health --cluster: not three healthy:\n%s", out)
			}
			return nil
		})
		if out, rc := s1.Policy(t, example, "apply", "-"); rc != 0 {
			t.Fatalf("policy apply after the members came back: exit %d\n%s", rc, out)
		}
		for i, s := range stacks {
			bed.Eventually(t, 3*time.Minute, fmt.Sprintf("node %d's stack healthy", i+1), func() error { return healthy(t, s) })
		}
		n1.Must(t, "run", "-d", "--pull", "never", "--init", "--name", "app3b", "-l", "name=app3", "--net", net, bed.Image, "sleep", "100000")
		bed.Eventually(t, time.Minute, "app3b, new on node 1, admitted to app2", func() error { return n1.TCP(t, "app3b", app2) })
		if err := n1.Blocked(t, "app1", app2); err != nil {
			t.Errorf("app1 -> app2 after the members came back: %v", err)
		}
		t.Logf("two members back: %s", time.Since(phase).Round(100*time.Millisecond))
	})
	t.Logf("leg %s: TestComposeStackEtcdMembers in %s", n1.Leg, time.Since(start).Round(100*time.Millisecond))
}

// peerURL is the node's etcd peer URL in a three-member stack: its address, TLS on 2380.
func peerURL(nd *bed.Node) string { return "https://" + nd.IP() + ":2380" }

// etcdctl runs etcdctl in the node's etcd container against its own member, with etcd's certificate.
func etcdctl(t *testing.T, nd *bed.Node, args ...string) (string, error) {
	const certs = "/etc/cilium-docker/etcd"
	argv := append([]string{"exec", "cilium-etcd", "/usr/local/bin/etcdctl", "--endpoints=https://127.0.0.1:2379",
		"--cacert=" + certs + "/ca.crt", "--cert=" + certs + "/etcd-server.crt", "--key=" + certs + "/etcd-server.key",
		"--dial-timeout=2s", "--command-timeout=5s"}, args...)
	return nd.Docker(t, argv...)
}
