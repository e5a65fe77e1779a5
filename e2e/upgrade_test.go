package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

// TestAgentUpgrade replaces node 1's cilium-agent of the leg (1.19) in place by 1.20 (E2E_UPGRADE_TO,
// default matrix.UpgradeTo), same state dir and flags, under two running containers and without restarting the
// plugin: the agent restores their endpoints with the same address and identity, they still reach each
// other, a container started afterwards is ready under its labels, and removing everything leaks
// nothing. The node goes down at the end: it no longer runs the leg's agent.
func TestAgentUpgrade(t *testing.T) {
	to := upgradeTo(t)
	t.Cleanup(func() { bed.Down(t, 1) })
	nd := bed.Up(t, 1)
	net := "cd-upgrade"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	base := nd.LeakBase(t)
	pluginPID := nd.PID(t, bed.Plugin)

	nd.Run(t, "ug1", "-l", "name=ug1", "-l", "tier=web", "--net", net, bed.Image, "sh", "-c", "while true; do echo pong | nc -l -p 8080; done")
	nd.Run(t, "ug2", "-l", "name=ug2", "--net", net, bed.Image, "sleep", "100000")
	type before struct {
		eid    string
		ip     netip.Addr
		labels []string
		id     int64
	}
	was := map[string]before{}
	for _, name := range []string{"ug1", "ug2"} {
		ep := nd.EndpointOf(t, name, net)
		was[name] = before{eid: nd.EndpointID(t, name, net), ip: nd.ContainerIP(t, name, net),
			labels: slices.Sorted(slices.Values(bed.IdentityLabels(ep))), id: bed.IdentityID(ep)}
		if !bed.Built(ep) || !bed.HasLabel(bed.IdentityLabels(ep), "container:name="+name) {
			t.Fatalf("%s under cilium %s: state %q, identity labels %v", name, nd.CiliumVersion(), bed.State(ep), bed.IdentityLabels(ep))
		}
	}
	ug1 := was["ug1"].ip.String()
	bed.Eventually(t, 10*time.Second, "tcp ug2 -> ug1 before the upgrade", func() error { return nd.TCP(t, "ug2", ug1) })

	start := time.Now()
	from := nd.CiliumVersion()
	nd.ReplaceAgent(t, to)
	t.Logf("agent %s replaced by %s and healthy in %s", from, to, time.Since(start).Round(time.Millisecond))

	// Found by address: a 1.20 agent keeps no docker-endpoint alias of a restored endpoint.
	bed.Eventually(t, 60*time.Second, "both endpoints restored by "+to+", ready, same address and identity", func() error {
		eps, err := nd.EndpointsOn(nid)
		if err != nil {
			return err
		}
		for name, w := range was {
			ep := bed.ByIPv4(eps, w.ip)
			if ep == nil {
				return fmt.Errorf("%s: no endpoint with address %s among %d", name, w.ip, len(eps))
			}
			if s := bed.State(ep); s != "ready" {
				return fmt.Errorf("%s: state %q", name, s)
			}
			if got := slices.Sorted(slices.Values(bed.IdentityLabels(ep))); !slices.Equal(got, w.labels) || bed.IdentityID(ep) != w.id {
				return fmt.Errorf("%s: identity %d %v, before the upgrade %d %v", name, bed.IdentityID(ep), got, w.id, w.labels)
			}
		}
		return nil
	})
	t.Logf("endpoints restored and ready %s after the upgrade began", time.Since(start).Round(time.Millisecond))
	for name, w := range was {
		if ip := nd.ContainerIP(t, name, net); ip != w.ip {
			t.Fatalf("%s: address %s after the upgrade, %s before", name, ip, w.ip)
		}
	}
	bed.Eventually(t, 30*time.Second, "tcp ug2 -> ug1 after the upgrade", func() error { return nd.TCP(t, "ug2", ug1) })
	if pid := nd.PID(t, bed.Plugin); pid != pluginPID {
		t.Fatalf("the plugin restarted (pid %d, was %d)", pid, pluginPID)
	}

	nd.Run(t, "ug3", "-l", "name=ug3", "--net", net, bed.Image, "sleep", "100000")
	ep3 := nd.EndpointOf(t, "ug3", net)
	if !bed.Built(ep3) || !bed.HasLabel(bed.IdentityLabels(ep3), "container:name=ug3") {
		t.Fatalf("container started under %s: endpoint state %q, labels %v", to, bed.State(ep3), bed.IdentityLabels(ep3))
	}
	ip3, eid3 := nd.ContainerIP(t, "ug3", net), nd.EndpointID(t, "ug3", net)
	bed.Eventually(t, 10*time.Second, "ping ug3 -> ug1", func() error {
		_, err := nd.Docker(t, "exec", "ug3", "ping", "-c", "1", "-W", "1", ug1)
		return err
	})

	nd.Must(t, "rm", "-f", "ug1", "ug2", "ug3")
	nd.AssertNoLeak(t, nid, base, []netip.Addr{was["ug1"].ip, was["ug2"].ip, ip3},
		[]string{was["ug1"].eid, was["ug2"].eid, eid3})
}

// upgradeTo is the agent version an upgrade test goes to (E2E_UPGRADE_TO, default matrix.UpgradeTo); the
// upgrade starts from the leg's agent, which must be a 1.19 (the matrix runs these on matrix.LegUpgrade).
func upgradeTo(t *testing.T) string {
	t.Helper()
	leg := bed.MustLeg()
	if !strings.HasPrefix(leg.Cilium, "1.19.") {
		t.Skipf("leg %s: the upgrade starts from a 1.19 agent (the matrix runs it on %s)", leg, matrix.LegUpgrade)
	}
	if to := os.Getenv("E2E_UPGRADE_TO"); to != "" {
		return to
	}
	return matrix.UpgradeTo
}
