package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// etcdVersion asks for etcd's version over plain HTTP; node 1's etcd listens on 127.0.0.1:2379 in
// the test bed, a node-local service as a database or dockerd on tcp://127.0.0.1:2375 is.
const etcdVersion = `printf 'GET /version HTTP/1.0\r\n\r\n' | %snc -w 3 127.0.0.1 2379`

// TestNoPathToTheNodesLoopback: publishing ports (which turns route_localnet on towards the
// container) opens no path to the node's 127.0.0.1 services, neither from the publishing container
// nor from another host of the node's segment through a mapping on 127.0.0.1 (CVE-2020-8558,
// moby#41872); the plugin's guard drops those packets, and the mapping on 127.0.0.1 still answers the
// node itself.
func TestNoPathToTheNodesLoopback(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-lo"
	nd.Network(t, net)
	if out, err := nd.TryExec(20*time.Second, "sh", "-c", fmt.Sprintf(etcdVersion, "busybox ")); err != nil || !strings.Contains(out, "etcdserver") {
		t.Fatalf("the node's own 127.0.0.1:2379: %q %v; want etcd's version", out, err)
	}
	nd.Run(t, "lopub", "-l", "name=lopub", "--net", net, "-p", "127.0.0.1:18181:80", "-p", "18182:80",
		bed.Image, "sh", "-c", echoPeer)
	bed.Eventually(t, 20*time.Second, "node -> 127.0.0.1:18181", func() error {
		_, err := fromNode(nd, "127.0.0.1", 18181)
		return err
	})
	before, err := nd.LoopbackGuardDrops(t) // checked below, after the attempts
	if err != nil {
		t.Errorf("before the attempts: %v", err)
	}

	t.Run("the publishing container", func(t *testing.T) {
		nd.RouteContainerLoopbackOut(t, "lopub")
		out, err := nd.Docker(t, "exec", "lopub", "sh", "-c", fmt.Sprintf(etcdVersion, ""))
		if strings.Contains(out, "etcdserver") {
			t.Fatalf("the container reached the node's 127.0.0.1:2379: %q", out)
		}
		t.Logf("lopub -> 127.0.0.1:2379: %v %q", err, out)
	})
	t.Run("another host of the segment, through the mapping on 127.0.0.1", func(t *testing.T) {
		bed.RoutePeerLoopbackTo(t, nd.IP())
		for _, port := range []int{18181, 18182} {
			if got, err := fromPeer("127.0.0.1", port); err == nil {
				t.Fatalf("the peer reached 127.0.0.1:%d on the node (the container saw %s)", port, got)
			}
		}
	})
	after, err := nd.LoopbackGuardDrops(t)
	if err != nil {
		t.Fatal(err)
	}
	// Three connections at least (a SYN each, with retries): nothing else explains the silence.
	if after-before < 3 {
		t.Fatalf("the guard dropped %d packets (%d -> %d), want the 3 connections' at least", after-before, before, after)
	}
	if _, err := fromNode(nd, "127.0.0.1", 18181); err != nil {
		t.Fatalf("node -> 127.0.0.1:18181 after: %v", err)
	}
}

// TestPublishedPortsSurviveAnNftFlush: when the plugin's table goes behind its back (an `nft flush
// ruleset`, as a reload of nftables.service does, or a hand's `nft delete table`), the reconciler's
// next pass puts the mappings and the guard back.
func TestPublishedPortsSurviveAnNftFlush(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-nft"
	nd.Network(t, net)
	node := nd.IP()
	nd.Run(t, "nftweb", "-l", "name=nftweb", "--net", net, "-p", "18183:80", bed.Image, "sh", "-c", echoPeer)
	bed.Eventually(t, 20*time.Second, "peer -> node:18183", func() error {
		_, err := fromPeer(node, 18183)
		return err
	})
	nd.Exec(t, "nft", "delete", "table", "ip", "cilium-docker")
	if got, err := fromPeer(node, 18183); err == nil {
		t.Fatalf("the mapping works without its table (the container saw %s): the test proves nothing", got)
	}
	// The bed's reconcile interval is 20 s: within two of them.
	bed.Eventually(t, 45*time.Second, "peer -> node:18183 after the table went", func() error {
		_, err := fromPeer(node, 18183)
		return err
	})
	if _, err := nd.LoopbackGuardDrops(t); err != nil {
		t.Fatalf("the guard after the repair: %v", err)
	}
}
