package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/versions"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
	"github.com/cilium-docker/cilium-docker/ipam"
)

// pong is the command of a container that answers "pong" on TCP 8080 (IPv4 and IPv6: busybox nc
// listens on both).
const pong = "while true; do echo pong | nc -l -p 8080; done"

// policyDeadline6 bounds each step of a policy proof on an IPv6 agent: on the loaded 2-core bed the
// first policy on a fresh endpoint of a just-started IPv6 node took over 20 s to take effect (its datapath
// is rebuilt for both families); later changes took 2 s.
const policyDeadline6 = time.Minute

// v6Of returns the IPv6 address of container name on net, failing the test unless the agent's IPv6
// range holds it.
func v6Of(t *testing.T, nd *bed.Node, name, net string, r netip.Prefix) netip.Addr {
	t.Helper()
	ip := nd.ContainerIPv6(t, name, net)
	if !ip.IsValid() || !r.Contains(ip) {
		t.Fatalf("leg %s: %s on %s: IPv6 address %v, want one in the agent's range %s", nd.Leg, name, net, ip, r)
	}
	return ip
}

// warm waits until a container on net of nd's agent attaches within 10 s. A cold IPv6 agent compiles
// its datapath for both families at the first endpoints, and once more when its node addresses settle; on
// the loaded 2-core bed (load average 14 with the other beds) that outlasted the plugin's 30 s create
// deadline (Cilium 1.19, a node just up). A failed attempt leaves the compile running, so a later one
// finds it done.
func warm(t *testing.T, nd *bed.Node, net string) {
	t.Helper()
	bed.Eventually(t, 4*time.Minute, fmt.Sprintf("a container on node %d's %s attached within 10 s", nd.N, net), func() error {
		start := time.Now()
		if out, err := nd.Docker(t, "run", "--rm", "--pull", "never", "--net", net, bed.Image, "true"); err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		if d := time.Since(start); d > 10*time.Second {
			return fmt.Errorf("docker run took %s", d.Round(time.Second))
		}
		return nil
	})
}

// ownedV6 returns the IPv6 addresses the plugin holds at the agent that it did not hold in base.
func ownedV6(t *testing.T, nd *bed.Node, base bed.Leak) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, s := range bed.NewOwned(base.Allocs, nd.Allocations(t)) {
		ip, _, _ := strings.Cut(s, "=")
		if strings.Contains(ip, ":") {
			out[ip] = true
		}
	}
	return out
}

// TestIPv6SingleNode (issue 12): on an agent with IPv6, `docker network create --ipv6` without --subnet
// gets the agent's IPv6 range as its pool (not ::/0, which makes Docker ask again forever for as long
// as resolv.conf names an IPv6 nameserver, as the bed's does), and each container an IPv6 address from
// the agent with a route via the agent's IPv6 router; containers reach each other over IPv6; on Docker
// 28+ an IPv6-only network works and a container whose interface has IPv6 disabled by sysctl starts
// without holding an IPv6 address; nothing is left at the agent after rm and network rm.
func TestIPv6SingleNode(t *testing.T) {
	nd := bed.Up(t, 1, bed.WithIPv6())
	if !strings.Contains(nd.Exec(t, "cat", "/etc/resolv.conf"), "nameserver fd00:") {
		t.Fatalf("leg %s: the node's resolv.conf names no IPv6 nameserver: the pool test proves nothing", nd.Leg)
	}
	r6 := nd.AgentRange6(t)
	if !r6.Enabled {
		t.Fatalf("leg %s: agent has IPv6 disabled on a node up with IPv6", nd.Leg)
	}
	base := nd.LeakBase(t)
	net := "v6-net"
	start := time.Now()
	nd.Network(t, net, "--ipv6")
	t.Logf("network create --ipv6 took %s", time.Since(start).Round(time.Millisecond))
	// Docker 20.10 shows the gateway with the pool's mask, 29 without.
	subnets := nd.Must(t, "network", "inspect", net, "--format", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}};{{end}}")
	want := r6.Range.String() + " " + r6.Router.String()
	if !strings.Contains(subnets, want+";") && !strings.Contains(subnets, want+"/"+fmt.Sprint(r6.Range.Bits())+";") {
		t.Errorf("network inspect: IPAM %q, want the agent's IPv6 range and router %q", subnets, want)
	}
	nid := nd.NetworkID(t, net)
	warm(t, nd, net)

	nd.Run(t, "v6a", "-l", "name=v6a", "--net", net, bed.Image, "sleep", "100000")
	nd.Run(t, "v6b", "-l", "name=v6b", "--net", net, bed.Image, "sh", "-c", pong)
	a6, b6 := v6Of(t, nd, "v6a", net, r6.Range), v6Of(t, nd, "v6b", net, r6.Range)
	if ep := nd.EndpointOf(t, "v6a", net); bed.EndpointIPv6(ep) != a6 {
		t.Errorf("agent endpoint of v6a: IPv6 %v, want the container's %s", bed.EndpointIPv6(ep), a6)
	}
	if routes := nd.Must(t, "exec", "v6a", "ip", "-6", "route"); !strings.Contains(routes, "default via "+r6.Router.String()) {
		t.Errorf("v6a IPv6 routes:\n%s\nwant the default via the agent's IPv6 router %s", routes, r6.Router)
	}
	nd.Must(t, "exec", "v6a", "ping", "-c", "1", "-W", "2", b6.String())
	bed.Eventually(t, 10*time.Second, "tcp v6a -> v6b over IPv6", func() error { return nd.TCP(t, "v6a", b6.String()) })
	ips := []netip.Addr{a6, b6, nd.ContainerIP(t, "v6a", net), nd.ContainerIP(t, "v6b", net)}
	eids := []string{nd.EndpointID(t, "v6a", net), nd.EndpointID(t, "v6b", net)}

	if versions.LessThan(nd.EngineAPI(), "1.48") {
		t.Logf("leg %s: engine API %s: no IPv6-only networks (enable_ipv4, Docker 28) nor endpoint sysctls (Docker 27): skipped", nd.Leg, nd.EngineAPI())
	} else {
		t.Run("IPv6-only network", func(t *testing.T) {
			only := "v6-only"
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			no, yes := false, true
			if _, err := nd.API.NetworkCreate(ctx, only, network.CreateOptions{Driver: "cilium",
				IPAM: &network.IPAM{Driver: "cilium"}, EnableIPv4: &no, EnableIPv6: &yes}); err != nil {
				t.Fatalf("create IPv6-only network: %v", err)
			}
			t.Cleanup(func() { nd.BestEffort(t, "network", "rm", only) })
			nd.Run(t, "v6o", "-l", "name=v6o", "--net", only, bed.Image, "sleep", "100000")
			o6 := v6Of(t, nd, "v6o", only, r6.Range)
			if s := nd.Must(t, "inspect", "v6o", "--format", "{{(index .NetworkSettings.Networks \""+only+"\").IPAddress}}"); s != "" {
				t.Errorf("container on an IPv6-only network has IPv4 address %q", s)
			}
			if ep := nd.EndpointOf(t, "v6o", only); bed.EndpointIPv6(ep) != o6 || bed.EndpointIPv4(ep).IsValid() {
				t.Errorf("agent endpoint of v6o: IPv4 %v, IPv6 %v; want IPv6 %s only", bed.EndpointIPv4(ep), bed.EndpointIPv6(ep), o6)
			}
			bed.Eventually(t, 10*time.Second, "tcp v6o -> v6b over IPv6", func() error { return nd.TCP(t, "v6o", b6.String()) })
			ips, eids = append(ips, o6), append(eids, nd.EndpointID(t, "v6o", only))
			nd.Must(t, "rm", "-f", "v6o")
			nd.Must(t, "network", "rm", only)
		})
		t.Run("IPv6 disabled on the interface", func(t *testing.T) {
			// The 20.10 CLI speaks API 1.41: Docker 29 moves an eth0 sysctl into the endpoint's sysctls,
			// sets the IPv6 address, sees the sysctl remove it, and releases it through the IPAM only.
			off := nd.LogSize(t, bed.Dockerd)
			nd.Run(t, "v6s", "--sysctl", "net.ipv6.conf.eth0.disable_ipv6=1", "--net", net, bed.Image, "sleep", "100000")
			if !strings.Contains(nd.LogSince(t, bed.Dockerd, off), "IPv6 address not present after applying sysctls") {
				t.Fatalf("dockerd did not drop the IPv6 address after the sysctl: the test proves nothing")
			}
			s4 := nd.ContainerIP(t, "v6s", net)
			if s6 := nd.ContainerIPv6(t, "v6s", net); s6.IsValid() {
				t.Errorf("v6s: IPv6 address %s after IPv6 was disabled on its interface", s6)
			}
			ep := nd.EndpointOf(t, "v6s", net)
			if bed.EndpointIPv6(ep).IsValid() || bed.EndpointIPv4(ep) != s4 {
				t.Errorf("agent endpoint of v6s: IPv4 %v, IPv6 %v; want IPv4 %s only", bed.EndpointIPv4(ep), bed.EndpointIPv6(ep), s4)
			}
			// The released IPv6 address is free at the agent: the plugin holds v6a's and v6b's only.
			want := map[string]bool{a6.String(): true, b6.String(): true}
			bed.Eventually(t, 20*time.Second, "the released IPv6 address freed at the agent", func() error {
				if got := ownedV6(t, nd, base); fmt.Sprint(got) != fmt.Sprint(want) {
					return fmt.Errorf("IPv6 addresses held by %s: %v, want %v", ipam.Owner, got, want)
				}
				return nil
			})
			nd.Must(t, "exec", "v6s", "ping", "-c", "1", "-W", "2", nd.ContainerIP(t, "v6b", net).String())
			ips, eids = append(ips, s4), append(eids, nd.EndpointID(t, "v6s", net))
			nd.Must(t, "rm", "-f", "v6s")
		})
	}

	nd.Must(t, "rm", "-f", "v6a", "v6b")
	nd.Must(t, "network", "rm", net)
	nd.AssertNoLeak(t, nid, base, ips, eids)
}

// TestIPv6Policy: a label policy is enforced on IPv6 as on IPv4: the denied container loses its IPv6
// access to the subject, the allowed one keeps it, and removing the policy gives it back.
func TestIPv6Policy(t *testing.T) {
	nd := bed.Up(t, 1, bed.WithIPv6())
	r6 := nd.AgentRange6(t)
	net := "v6-pol"
	nd.Network(t, net, "--ipv6")
	warm(t, nd, net)
	nd.Run(t, "v6p2", "-l", "name=v6p2", "--net", net, bed.Image, "sh", "-c", pong)
	nd.Run(t, "v6p1", "-l", "name=v6p1", "--net", net, bed.Image, "sleep", "100000")
	nd.Run(t, "v6p3", "-l", "name=v6p3", "--net", net, bed.Image, "sleep", "100000")
	p2 := v6Of(t, nd, "v6p2", net, r6.Range).String()
	bed.Eventually(t, 10*time.Second, "tcp v6p1 -> v6p2 over IPv6", func() error { return nd.TCP(t, "v6p1", p2) })
	bed.EnforceWithin(t, policyDeadline6, nd, nd.PolicyDir(), "v6p2.yaml", bed.PolicyOnlyFrom("v6p2", "v6p3"), "v6p1", "v6p3", p2)
}

// TestIPv6TwoNodes: containers on two IPv6 nodes reach each other over IPv6 (VXLAN over the IPv4
// underlay), the other node's IPv6 range is routed via the local router, and a policy on node 2
// blocks node 1's denied container over IPv6 and admits the allowed one.
func TestIPv6TwoNodes(t *testing.T) {
	n1 := bed.Up(t, 1, bed.WithIPv6())
	n2 := bed.Up(t, 2, bed.WithIPv6())
	t.Cleanup(func() { n2.Down(t) })
	r1, r2 := n1.AgentRange6(t), n2.AgentRange6(t)
	net := "v6-x"
	n1.Network(t, net, "--ipv6")
	n2.Network(t, net, "--ipv6")
	warm(t, n1, net)
	warm(t, n2, net)
	n2.Run(t, "v6x2", "-l", "name=v6x2", "--net", net, bed.Image, "sh", "-c", pong)
	n1.Run(t, "v6x1", "-l", "name=v6x1", "--net", net, bed.Image, "sleep", "100000")
	n1.Run(t, "v6x3", "-l", "name=v6x3", "--net", net, bed.Image, "sleep", "100000")
	x2 := v6Of(t, n2, "v6x2", net, r2.Range).String()
	v6Of(t, n1, "v6x1", net, r1.Range)
	want := r2.Range.String() + " via " + r1.Router.String()
	if routes := n1.Must(t, "exec", "v6x1", "ip", "-6", "route"); !strings.Contains(routes, want) {
		t.Errorf("v6x1 IPv6 routes:\n%s\nwant node 2's range via the local router (%s)", routes, want)
	}
	bed.Eventually(t, 30*time.Second, "ping node1/v6x1 -> node2/v6x2 over IPv6", func() error {
		_, err := n1.Docker(t, "exec", "v6x1", "ping", "-c", "1", "-W", "1", x2)
		return err
	})
	bed.Eventually(t, 10*time.Second, "tcp node1/v6x1 -> node2/v6x2 over IPv6", func() error { return n1.TCP(t, "v6x1", x2) })
	bed.EnforceWithin(t, policyDeadline6, n1, n2.PolicyDir(), "v6x2.yaml", bed.PolicyOnlyFrom("v6x2", "v6x3"), "v6x1", "v6x3", x2)
}

// TestIPv6Restarts: a restarted plugin keeps serving a running dual-stack container and gives new ones
// IPv6; a restarted agent restores the endpoints with their IPv6 addresses; nothing is left after rm and
// network rm. (The reconciler's removal of an IPv6 container removed while the plugin was down is in
// TestReconcilerRemovesWhatDockerForgot.)
func TestIPv6Restarts(t *testing.T) {
	nd := bed.Up(t, 1, bed.WithIPv6())
	r6 := nd.AgentRange6(t)
	net := "v6-rs"
	nd.Network(t, net, "--ipv6")
	nid := nd.NetworkID(t, net)
	warm(t, nd, net)
	base := nd.LeakBase(t)
	nd.Run(t, "v6keep", "-l", "name=v6keep", "--net", net, bed.Image, "sh", "-c", pong)
	keep6 := v6Of(t, nd, "v6keep", net, r6.Range)

	nd.Restart(t, bed.Plugin)
	nd.Run(t, "v6new", "-l", "name=v6new", "--net", net, bed.Image, "sleep", "100000")
	new6 := v6Of(t, nd, "v6new", net, r6.Range)
	bed.Eventually(t, 10*time.Second, "tcp v6new -> v6keep over IPv6", func() error { return nd.TCP(t, "v6new", keep6.String()) })
	// The agent's allocation list is refreshed every 5 s: v6new's address shows within a refresh.
	bed.Eventually(t, 15*time.Second, "both running containers' IPv6 addresses allocated", func() error {
		allocs := nd.Allocations(t)
		for _, ip := range []netip.Addr{keep6, new6} {
			if _, ok := allocs[ip.String()]; !ok {
				return fmt.Errorf("IPv6 address %s of a running container is not allocated", ip)
			}
		}
		return nil
	})

	// An agent restart restores both endpoints with their IPv6 addresses.
	nd.Restart(t, bed.Agent)
	bed.Eventually(t, time.Minute, "tcp v6new -> v6keep over IPv6 after the agent's restart", func() error {
		return nd.TCP(t, "v6new", keep6.String())
	})
	if ep := nd.EndpointOf(t, "v6keep", net); bed.EndpointIPv6(ep) != keep6 {
		t.Errorf("agent endpoint of v6keep after the agent's restart: IPv6 %v, want %s", bed.EndpointIPv6(ep), keep6)
	}

	eids := []string{nd.EndpointID(t, "v6keep", net), nd.EndpointID(t, "v6new", net)}
	ips := []netip.Addr{keep6, new6, nd.ContainerIP(t, "v6keep", net), nd.ContainerIP(t, "v6new", net)}
	nd.Must(t, "rm", "-f", "v6keep", "v6new")
	nd.Must(t, "network", "rm", net)
	nd.AssertNoLeak(t, nid, base, ips, eids)
}
