package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestConnectDisconnect (issue 19.16): a running container on the default bridge is connected to a
// cilium network: its agent endpoint is built under its labels and it reaches a peer there. Disconnected,
// its agent endpoint, link and address go, and the peer no longer reaches it; nothing is left once the
// containers are gone.
func TestConnectDisconnect(t *testing.T) {
	nd := bed.Up(t, 1)
	fam := nd.AgentRange(t)
	net := "cilium-conn"
	nd.Network(t, net)
	base := nd.LeakBase(t)

	nd.Run(t, "conn-peer", "-l", "name=conn-peer", "--net", net, bed.Image, "sleep", "100000")
	nd.Run(t, "conn-app", "-l", "name=conn-app", bed.Image, "sleep", "100000") // the default bridge
	peer := nd.ContainerIP(t, "conn-peer", net).String()
	nd.Must(t, "network", "connect", net, "conn-app")
	eid := nd.EndpointID(t, "conn-app", net)
	ip := nd.ContainerIP(t, "conn-app", net)
	t.Run("connect: endpoint built under its labels, the peer reached both ways", func(t *testing.T) {
		ep := nd.EndpointOf(t, "conn-app", net) // read right after docker network connect returned
		nd.AssertBuiltAtRun(t, ep, "conn-app", net, fam.Range)
		if got := bed.EndpointIPv4(ep); got != ip {
			t.Fatalf("agent endpoint address %s, docker's %s", got, ip)
		}
		nd.Must(t, "exec", "conn-app", "ping", "-c", "1", "-W", "2", peer)
		nd.Must(t, "exec", "conn-peer", "ping", "-c", "1", "-W", "2", ip.String())
	})

	nd.Must(t, "network", "disconnect", net, "conn-app")
	t.Run("disconnect: endpoint, link and address gone, the peer no longer reaches it", func(t *testing.T) {
		if ep := bed.ByDockerEndpoint(nd.OurEndpoints(t), eid); ep != nil {
			t.Errorf("agent endpoint %d of docker endpoint %s left after disconnect (state %q)", ep.ID, eid, bed.State(ep))
		}
		if eps := nd.OurEndpoints(t); len(eps) != 1 || bed.EndpointIPv4(eps[0]) != nd.ContainerIP(t, "conn-peer", net) {
			t.Errorf("agent container endpoints after disconnect: %d, want conn-peer's alone", len(eps))
		}
		nd.AssertLinksGone(t, eid)
		// healthz IPAM data is cached for about 5 s: poll past that.
		bed.Eventually(t, 20*time.Second, "the disconnected address released", func() error {
			if owner, ok := nd.Allocations(t)[ip.String()]; ok {
				return fmt.Errorf("%s still allocated to %q", ip, owner)
			}
			return nil
		})
		if out, err := nd.Docker(t, "exec", "conn-peer", "ping", "-c", "1", "-W", "1", ip.String()); err == nil {
			t.Errorf("conn-peer still reaches %s after disconnect: %s", ip, out)
		}
		if out := nd.Must(t, "exec", "conn-app", "ip", "-o", "-4", "addr"); containsAddr(out, ip) {
			t.Errorf("conn-app still holds %s after disconnect:\n%s", ip, out)
		}
	})

	nd.BestEffort(t, "rm", "-f", "conn-app", "conn-peer")
	nd.AssertNoLeak(t, "", base, []netip.Addr{ip}, []string{eid})
}

// containsAddr reports whether `ip -o addr` output holds ip as an interface address.
func containsAddr(out string, ip netip.Addr) bool {
	for _, f := range strings.Fields(out) {
		if p, err := netip.ParsePrefix(f); err == nil && p.Addr() == ip {
			return true
		}
	}
	return false
}
