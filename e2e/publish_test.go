package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// echoPeer is a container command that answers HTTP on port 80 with the client's address as the
// container sees it (busybox httpd's CGI REMOTE_ADDR): the proof that publishing keeps the source.
const echoPeer = `mkdir -p /www/cgi-bin && printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho $REMOTE_ADDR\n' >/www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 80 -h /www`

const getIP = `printf 'GET /cgi-bin/ip HTTP/1.0\r\n\r\n' | busybox nc -w 3 %s %d`

// peerAddrSeen parses the echo's answer: the last line, "[::ffff:192.168.77.1]" as httpd prints it.
func peerAddrSeen(out string) (netip.Addr, error) {
	lines := strings.Fields(strings.TrimSpace(out))
	if len(lines) == 0 || !strings.Contains(out, "200 OK") {
		return netip.Addr{}, fmt.Errorf("no HTTP answer: %q", out)
	}
	a, err := netip.ParseAddr(strings.Trim(lines[len(lines)-1], "[]"))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("answer %q: %w", out, err)
	}
	return a.Unmap(), nil
}

// fromPeer asks the echo at addr:port from the bed's outside peer.
func fromPeer(addr string, port int) (netip.Addr, error) {
	out, err := bed.TryPeer(20*time.Second, "sh", "-c", fmt.Sprintf(getIP, addr, port))
	if err != nil {
		return netip.Addr{}, err
	}
	return peerAddrSeen(out)
}

// fromNode asks the echo at addr:port from the node itself (its network namespace).
func fromNode(nd *bed.Node, addr string, port int) (netip.Addr, error) {
	out, err := nd.TryExec(20*time.Second, "sh", "-c", fmt.Sprintf(getIP, addr, port))
	if err != nil {
		return netip.Addr{}, err
	}
	return peerAddrSeen(out)
}

func wantSeen(t *testing.T, what string, got netip.Addr, err error, want string) {
	t.Helper()
	if err != nil || got.String() != want {
		t.Fatalf("%s: container saw %v (%v), want %s", what, got, err, want)
	}
}

// mappingRx matches the plugin's log line for one published port.
var mappingRx = regexp.MustCompile(`msg="published port" endpoint=([0-9a-f]{64}) mapping="(tcp|udp) ([0-9.]+):(\d+) -> ([0-9.]+):(\d+)"`)

// publishedPorts returns the host ports the plugin logged for endpoint eid since off, as
// "proto/containerport" -> host port. Docker shows a remote driver's mappings nowhere (see
// TestPublish's docker port check), so the log is where -P's choice is read.
func publishedPorts(t *testing.T, nd *bed.Node, off int64, eid string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range mappingRx.FindAllStringSubmatch(nd.LogSince(t, bed.Plugin, off), -1) {
		if m[1] == eid {
			hp, err := strconv.Atoi(m[4])
			if err != nil {
				t.Fatalf("log line %q: %v", m[0], err)
			}
			out[m[2]+"/"+m[6]] = hp
		}
	}
	return out
}

// flowFrom reports whether Hubble saw a forwarded flow of protocol proto ("TCP", "UDP") from src to the
// container name's port since start, and under which identity labels. Protocol, port and time are part
// of the match: a flow of another step (the TCP request before a UDP datagram), or of an earlier test's
// container of the same name still in Hubble's buffer, must not stand for the one asked.
func flowFrom(t *testing.T, nd *bed.Node, name, src, proto string, port uint32, start time.Time) ([]string, error) {
	t.Helper()
	since := strconv.Itoa(int(time.Since(start)/time.Second)+1) + "s"
	out, stderr, rc := nd.Command(t, 20*time.Second, "flows", name, "--since", since, "--json")
	if rc != 0 {
		return nil, fmt.Errorf("cilium-docker flows: rc %d %s", rc, stderr)
	}
	var others []string
	for _, line := range strings.Split(out, "\n") {
		var f struct {
			Source struct {
				IP     string
				Labels []string
			}
			Destination struct {
				Name string
				Port uint32
			}
			Protocol string
			Verdict  string
		}
		if json.Unmarshal([]byte(line), &f) != nil {
			continue
		}
		if f.Source.IP != src || f.Destination.Name != name || f.Verdict != "FORWARDED" {
			continue
		}
		if f.Protocol == proto && f.Destination.Port == port {
			return f.Source.Labels, nil
		}
		others = append(others, fmt.Sprintf("%s/%d", f.Protocol, f.Destination.Port))
	}
	return nil, fmt.Errorf("no forwarded %s flow from %s to %s port %d in the last %s (forwarded from %s: %v)", proto, src, name, port, since, src, others)
}

// TestPublish: docker run -p makes the container's port reachable on the node's address from another
// host and from the node, on 127.0.0.1 or one node address when asked, on the next free port of a range; the container
// sees the client's own address; a port already published is refused with the plugin's words and
// nothing is left of the refused run; stopping the container frees the port.
func TestPublish(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-pub"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	base := nd.LeakBase(t)
	node := nd.IP()

	nd.Run(t, "pubweb", "-l", "name=pubweb", "--net", net, "-p", "18080:80", "-p", "127.0.0.1:18081:80",
		"-p", node+":18083:80", bed.Image, "sh", "-c", echoPeer)
	eid, ip := nd.EndpointID(t, "pubweb", net), nd.ContainerIP(t, "pubweb", net)

	t.Run("from another host, source kept, identity world", func(t *testing.T) {
		start := time.Now()
		var got netip.Addr
		var err error
		bed.Eventually(t, 20*time.Second, "peer -> node:18080", func() error {
			got, err = fromPeer(node, 18080)
			return err
		})
		wantSeen(t, "peer -> "+node+":18080", got, err, bed.PeerAddr)
		bed.Eventually(t, 20*time.Second, "Hubble's flow from the peer", func() error {
			labels, err := flowFrom(t, nd, "pubweb", bed.PeerAddr, "TCP", 80, start)
			if err == nil && !slices.Contains(labels, "reserved:world") {
				return fmt.Errorf("flow from the peer under labels %v, want reserved:world", labels)
			}
			return err
		})
	})
	t.Run("from the node", func(t *testing.T) {
		got, err := fromNode(nd, node, 18080)
		wantSeen(t, "node -> "+node+":18080", got, err, node)
	})
	t.Run("on 127.0.0.1 only", func(t *testing.T) {
		got, err := fromNode(nd, "127.0.0.1", 18081)
		if err != nil || !got.IsValid() {
			t.Fatalf("node -> 127.0.0.1:18081: %v %v", got, err)
		}
		if got, err := fromPeer(node, 18081); err == nil {
			t.Fatalf("peer reached the port published on 127.0.0.1 only (container saw %s)", got)
		}
	})
	t.Run("on the node's address only", func(t *testing.T) {
		got, err := fromPeer(node, 18083)
		wantSeen(t, "peer -> "+node+":18083", got, err, bed.PeerAddr)
		if got, err := fromNode(nd, "127.0.0.1", 18083); err == nil {
			t.Fatalf("127.0.0.1:18083 reached a port published on %s only (container saw %s)", node, got)
		}
	})
	t.Run("from a container on the node, through the node's address", func(t *testing.T) {
		nd.Run(t, "pubcli", "-l", "name=pubcli", "--net", net, bed.Image, "sleep", "100000")
		out, err := nd.Docker(t, "exec", "pubcli", "sh", "-c", strings.ReplaceAll(fmt.Sprintf(getIP, node, 18080), "busybox ", ""))
		got, perr := peerAddrSeen(out)
		// Cilium's own NAT rules give such hairpin traffic the node's router address (cilium_host).
		if err != nil || perr != nil || got == nd.ContainerIP(t, "pubcli", net) {
			t.Fatalf("pubcli -> %s:18080: %q %v %v (saw %s)", node, out, err, perr, got)
		}
		t.Logf("pubcli -> %s:18080: the container saw %s", node, got)
		nd.Must(t, "rm", "-f", "pubcli")
	})
	t.Run("docker port", func(t *testing.T) {
		// Docker type-asserts the driver's EndpointOperInfo portmap to its own Go type, which a remote
		// driver's JSON never is (moby daemon/network.go getEndpointPortMapInfo, 20.10 and 29.8.1):
		// docker port and docker ps cannot show the mappings. Logged, so a future engine that does shows.
		out, _ := nd.Docker(t, "port", "pubweb")
		t.Logf("docker port pubweb: %q", out)
	})

	t.Run("a published port is refused to the next container", func(t *testing.T) {
		leak := nd.LeakBase(t)
		out, err := nd.Docker(t, "run", "--rm", "--pull", "never", "--net", net, "-p", "18080:80", bed.Image, "true")
		if err == nil {
			t.Fatalf("second docker run -p 18080:80 succeeded: %s", out)
		}
		if !strings.Contains(out, "host port 18080/tcp on 0.0.0.0: in use on the node") {
			t.Fatalf("second docker run -p 18080:80: got %q, want the plugin's refusal naming the port", out)
		}
		bed.Eventually(t, 15*time.Second, "nothing left of the refused run", func() error {
			if extra := bed.NewLinks(leak.Links, nd.Links(t)); len(extra) > 0 {
				return fmt.Errorf("links %v", extra)
			}
			eps, err := nd.EndpointsOn(nid)
			if err != nil {
				return fmt.Errorf("list agent endpoints: %w", err)
			}
			if len(eps) != 1 {
				return fmt.Errorf("agent endpoints on the network: %d, want pubweb's only", len(eps))
			}
			// pubweb's own address is no leak: the base may predate the agent's allocation list showing it
			// (the agent refreshes that list every 5 s, and pubweb started just before).
			extra := slices.DeleteFunc(bed.NewOwned(leak.Allocs, nd.Allocations(t)), func(a string) bool {
				return strings.HasPrefix(a, ip.String()+"=")
			})
			if len(extra) > 0 {
				return fmt.Errorf("allocations %v", extra)
			}
			return nil
		})
		got, err := fromPeer(node, 18080)
		wantSeen(t, "pubweb after the refusal", got, err, bed.PeerAddr)
	})

	t.Run("a range takes its first free port", func(t *testing.T) {
		off := nd.LogSize(t, bed.Plugin)
		// 18080 (every address) and 18081 (127.0.0.1) are pubweb's: 18082 is the first free one.
		nd.Run(t, "pubrange", "-l", "name=pubrange", "--net", net, "-p", "18080-18089:80", bed.Image, "sh", "-c", echoPeer)
		reid := nd.EndpointID(t, "pubrange", net)
		if got := publishedPorts(t, nd, off, reid); got["tcp/80"] != 18082 {
			t.Fatalf("pubrange published %v, want tcp/80 on 18082", got)
		}
		var got netip.Addr
		var err error
		bed.Eventually(t, 20*time.Second, "peer -> node:18082", func() error {
			got, err = fromPeer(node, 18082)
			return err
		})
		wantSeen(t, "peer -> node:18082", got, err, bed.PeerAddr)
		nd.Must(t, "rm", "-f", "pubrange")
	})

	t.Run("stop frees the port", func(t *testing.T) {
		nd.Must(t, "rm", "-f", "pubweb")
		if got, err := fromPeer(node, 18080); err == nil {
			t.Fatalf("peer still reaches node:18080 after the container went (it saw %s)", got)
		}
		nd.Run(t, "pubweb2", "-l", "name=pubweb2", "--net", net, "-p", "18080:80", bed.Image, "sh", "-c", echoPeer)
		var got netip.Addr
		var err error
		bed.Eventually(t, 20*time.Second, "peer -> node:18080 (the new container)", func() error {
			got, err = fromPeer(node, 18080)
			return err
		})
		wantSeen(t, "peer -> the new container", got, err, bed.PeerAddr)
		eid2, ip2 := nd.EndpointID(t, "pubweb2", net), nd.ContainerIP(t, "pubweb2", net)
		nd.Must(t, "rm", "-f", "pubweb2")
		nd.AssertNoLeak(t, nid, base, []netip.Addr{ip, ip2}, []string{eid, eid2})
	})
}

// TestPublishAllAndUDP: -P publishes every EXPOSEd port (--expose here) on ports the kernel picks,
// TCP and UDP; a UDP datagram from another host reaches the container under its own address.
func TestPublishAllAndUDP(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-pub"
	nd.Network(t, net)
	node := nd.IP()
	off := nd.LogSize(t, bed.Plugin)
	nd.Run(t, "puball", "-l", "name=puball", "--net", net, "--expose", "80", "--expose", "53/udp", "-P", bed.Image, "sh", "-c", echoPeer)
	eid := nd.EndpointID(t, "puball", net)
	got := publishedPorts(t, nd, off, eid)
	if len(got) != 2 || got["tcp/80"] == 0 || got["udp/53"] == 0 {
		t.Fatalf("-P published %v, want tcp/80 and udp/53 on kernel-chosen ports", got)
	}
	t.Logf("-P: %v", got)
	var seen netip.Addr
	var err error
	bed.Eventually(t, 20*time.Second, "peer -> -P's tcp port", func() error {
		seen, err = fromPeer(node, got["tcp/80"])
		return err
	})
	wantSeen(t, "peer -> -P's tcp port", seen, err, bed.PeerAddr)
	// busybox has no UDP server: Hubble shows the datagram delivered to the container's port 53 (a UDP
	// flow to port 53; the TCP request above is a flow from the peer too, to port 80).
	start := time.Now()
	bed.Eventually(t, 20*time.Second, "a datagram from the peer delivered to puball's udp/53", func() error {
		if _, err := bed.TryPeer(10*time.Second, "bash", "-c",
			fmt.Sprintf("exec 3<>/dev/udp/%s/%d; echo ping >&3", node, got["udp/53"])); err != nil {
			return err
		}
		_, err := flowFrom(t, nd, "puball", bed.PeerAddr, "UDP", 53, start)
		return err
	})
}

// TestPublishPolicy: a policy denying ingress from the world blocks the published port to other
// hosts and keeps it open from the node (identity host); without it the world reaches the port again.
func TestPublishPolicy(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-pub"
	nd.Network(t, net)
	node := nd.IP()
	nd.Run(t, "pubpol", "-l", "name=pubpol", "--net", net, "-p", "18180:80", bed.Image, "sh", "-c", echoPeer)
	bed.Eventually(t, 20*time.Second, "peer -> node:18180 before the policy", func() error {
		_, err := fromPeer(node, 18180)
		return err
	})
	const policy = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: pubpol-deny-world}
spec:
  endpointSelector: {matchLabels: {name: pubpol}}
  ingress:
  - fromEntities: [all]
  ingressDeny:
  - fromEntities: [world]
`
	dir := nd.PolicyDir()
	bed.WriteAtomic(t, dir, "pubpol-deny-world.yaml", policy)
	bed.Eventually(t, 60*time.Second, "the policy blocks the peer", func() error {
		if got, err := fromPeer(node, 18180); err == nil {
			return fmt.Errorf("peer still reaches node:18180 (container saw %s)", got)
		}
		return nil
	})
	got, err := fromNode(nd, node, 18180)
	wantSeen(t, "node -> node:18180 under the policy", got, err, node)
	if err := os.Remove(filepath.Join(dir, "pubpol-deny-world.yaml")); err != nil {
		t.Fatal(err)
	}
	bed.Eventually(t, 60*time.Second, "the peer reaches node:18180 once the policy is gone", func() error {
		got, err = fromPeer(node, 18180)
		return err
	})
	wantSeen(t, "peer -> node:18180 after the policy", got, err, bed.PeerAddr)
}

// TestPublishPluginRestart: the mappings outlive a plugin restart (the kernel keeps the rules and the
// new process reserves their ports again, so a second container is still refused). A container removed
// while the plugin is down loses its mappings to the reconciler (TestReconcilerRemovesWhatDockerForgot).
func TestPublishPluginRestart(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-pub"
	nd.Network(t, net)
	node := nd.IP()
	nd.Run(t, "pubrs", "-l", "name=pubrs", "--net", net, "-p", "18280:80", bed.Image, "sh", "-c", echoPeer)
	bed.Eventually(t, 20*time.Second, "peer -> node:18280", func() error {
		_, err := fromPeer(node, 18280)
		return err
	})
	off := nd.LogSize(t, bed.Plugin)
	nd.Restart(t, bed.Plugin)
	got, err := fromPeer(node, 18280)
	wantSeen(t, "peer -> node:18280 after the plugin restart", got, err, bed.PeerAddr)
	if log := nd.LogSince(t, bed.Plugin, off); !strings.Contains(log, "published ports of the previous process reserved again") {
		t.Errorf("the restarted plugin did not log reserving the old mappings again")
	}
	if out, err := nd.Docker(t, "run", "--rm", "--pull", "never", "--net", net, "-p", "18280:80", bed.Image, "true"); err == nil ||
		!strings.Contains(out, "in use on the node") {
		t.Fatalf("second -p 18280:80 after the restart: %v %q, want the refusal", err, out)
	}
	// The restarted process unpublishes what the previous one published.
	nd.Must(t, "rm", "-f", "pubrs")
	if got, err := fromPeer(node, 18280); err == nil {
		t.Fatalf("peer still reaches node:18280 after docker rm (container saw %s)", got)
	}
	nd.Run(t, "pubrs2", "-l", "name=pubrs2", "--net", net, "-p", "18280:80", bed.Image, "sh", "-c", echoPeer)
}
