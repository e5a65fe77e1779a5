package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// gcInterval is the plugin's default --reconcile-interval (the bed runs 20 s, so this bounds from above); gcHold is the
// reconciler's hold-off after start (reconcile.DockerRetryWindow). Passes run at start, when the hold
// ends, 20 s after any pass that saw something new, and every interval.
const (
	gcInterval = time.Minute
	gcHold     = 30 * time.Second
)

// gcDeadline is how long after the plugin's start everything it forgot must be gone: one interval,
// plus a pass and the agent's 5 s allocation-list refresh.
const gcDeadline = gcInterval + 20*time.Second

// removals counts the reconciler's removal log lines in the plugin log since off.
func removals(t *testing.T, nd *bed.Node, off int64) (endpoints, links, addresses int) {
	t.Helper()
	log := nd.LogSince(t, bed.Plugin, off)
	return strings.Count(log, "removed agent endpoint no Docker endpoint explains"),
		strings.Count(log, "removed host link no Docker endpoint explains"),
		strings.Count(log, "released address no Docker endpoint or agent endpoint explains")
}

// gone waits until none of the endpoints eids has an agent endpoint or a link and none of ips is
// allocated.
func gone(t *testing.T, nd *bed.Node, nid string, d time.Duration, eids []string, ips []netip.Addr) {
	t.Helper()
	bed.Eventually(t, d, "the forgotten endpoints, links and addresses removed", func() error {
		eps, err := nd.EndpointsOn(nid)
		if err != nil {
			return err
		}
		links, allocs := nd.Links(t), nd.Allocations(t)
		var left []string
		for _, eid := range eids {
			if bed.ByDockerEndpoint(eps, eid) != nil {
				left = append(left, "endpoint of "+eid[:12])
			}
			if n := bed.NamesOf(t, eid); links[n.Host] || links[n.Container] {
				left = append(left, "link "+n.Host)
			}
		}
		for _, ip := range ips {
			if owner, ok := allocs[ip.String()]; ok {
				left = append(left, ip.String()+"="+owner)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("left: %v", left)
		}
		return nil
	})
}

// TestReconcilerRemovesWhatDockerForgot removes containers while the plugin is down: dockerd only logs
// the failed teardowns (after retrying each call for 30 s), and the links, agent endpoints, addresses and
// published ports stay. The restarted plugin's reconciler removes all of them within one interval, and
// running containers keep theirs. One test for all of it, on an IPv6 bed: every forgotten teardown costs
// dockerd's minute of retries, and every check the reconciler's hold and two passes. The forgotten ones:
// three containers on a plain network, one on an IPv6 network (both families' addresses), one with a
// published port.
func TestReconcilerRemovesWhatDockerForgot(t *testing.T) {
	nd := bed.Up(t, 1, bed.WithIPv6())
	r6 := nd.AgentRange6(t)
	net, net6 := "cd-gc", "v6-gc"
	nd.Network(t, net)
	nd.Network(t, net6, "--ipv6")
	nid, nid6 := nd.NetworkID(t, net), nd.NetworkID(t, net6)
	warm(t, nd, net6)
	base := nd.LeakBase(t)
	node := nd.IP()

	nd.Run(t, "gckeep", "-l", "name=gckeep", "--net", net, bed.Image, "sleep", "100000")
	keep := nd.EndpointOf(t, "gckeep", net)
	keepEID, keepIP := nd.EndpointID(t, "gckeep", net), nd.ContainerIP(t, "gckeep", net)
	nd.Run(t, "v6keep", "-l", "name=v6keep", "--net", net6, bed.Image, "sh", "-c", pong)
	keep6 := v6Of(t, nd, "v6keep", net6, r6.Range)
	victims := []string{"gc1", "gc2", "gc3"}
	var eids []string
	var ips []netip.Addr
	for _, name := range victims {
		nd.Run(t, name, "-l", "name="+name, "--net", net, bed.Image, "sleep", "100000")
		eids, ips = append(eids, nd.EndpointID(t, name, net)), append(ips, nd.ContainerIP(t, name, net))
	}
	nd.Run(t, "v6gone", "-l", "name=v6gone", "--net", net6, bed.Image, "sleep", "100000")
	eids6 := []string{nd.EndpointID(t, "v6gone", net6)}
	ips6 := []netip.Addr{nd.ContainerIP(t, "v6gone", net6), v6Of(t, nd, "v6gone", net6, r6.Range)}
	nd.Run(t, "gcpub", "-l", "name=gcpub", "--net", net, "-p", "18380:80", bed.Image, "sh", "-c", echoPeer)
	bed.Eventually(t, 20*time.Second, "peer -> node:18380", func() error {
		_, err := fromPeer(node, 18380)
		return err
	})
	eids, ips = append(eids, nd.EndpointID(t, "gcpub", net)), append(ips, nd.ContainerIP(t, "gcpub", net))
	forgotten := append(victims, "v6gone", "gcpub")

	nd.Stop(t, bed.Plugin)
	pluginUp := false
	t.Cleanup(func() {
		if !pluginUp {
			nd.Start(t, bed.Plugin)
		}
	})
	start := time.Now()
	nd.Must(t, append([]string{"rm", "-f"}, forgotten...)...)
	t.Logf("docker rm -f of %d containers with the plugin down took %s", len(forgotten), time.Since(start).Round(time.Millisecond))
	links := nd.Links(t)
	for _, on := range []struct {
		nid  string
		eids []string
	}{{nid, eids}, {nid6, eids6}} {
		eps := nd.MustEndpointsOn(t, on.nid)
		for _, eid := range on.eids {
			if bed.ByDockerEndpoint(eps, eid) == nil || !links[bed.NamesOf(t, eid).Host] {
				t.Fatalf("docker endpoint %s: agent endpoint or link already gone with the plugin down; the test proves nothing", eid)
			}
		}
	}

	off := nd.LogSize(t, bed.Plugin)
	nd.Start(t, bed.Plugin)
	pluginUp = true
	start = time.Now()
	gone(t, nd, nid, gcDeadline, eids, ips)
	gone(t, nd, nid6, gcDeadline, eids6, ips6)
	bed.Eventually(t, gcDeadline, "the reconciler removes the mapping of the removed container", func() error {
		if !strings.Contains(nd.LogSince(t, bed.Plugin, off), "removed published ports no Docker endpoint explains") {
			return fmt.Errorf("no removal logged yet")
		}
		return nil
	})
	took := time.Since(start)
	e, l, a := removals(t, nd, off)
	t.Logf("reconciler removed %d agent endpoints, %d links, %d addresses and the mapping; all gone %s after the plugin started (interval %s, hold %s)",
		e, l, a, took.Round(time.Millisecond), gcInterval, gcHold)
	// At least the forgotten ones' (a leftover of an earlier test on this node may go in the same passes).
	if e < len(forgotten) || l < len(forgotten) {
		t.Errorf("reconciler logged %d endpoint and %d link removals, want at least %d each", e, l, len(forgotten))
	}
	log := nd.LogSince(t, bed.Plugin, off)
	for _, eid := range append(eids, eids6...) {
		if host := bed.NamesOf(t, eid).Host; !strings.Contains(log, "link="+host) {
			t.Errorf("no removal of link %s (docker endpoint %s) logged", host, eid[:12])
		}
	}
	if got, err := fromPeer(node, 18380); err == nil {
		t.Errorf("peer still reaches node:18380 (container saw %s)", got)
	}

	// The running containers kept everything: same endpoint, identity, addresses, link.
	now := nd.EndpointOf(t, "gckeep", net)
	if now.ID != keep.ID || bed.IdentityID(now) != bed.IdentityID(keep) || bed.EndpointIPv4(now) != keepIP || bed.State(now) != "ready" {
		t.Errorf("running container's endpoint: id %d identity %d %s %q, before id %d identity %d %s",
			now.ID, bed.IdentityID(now), bed.EndpointIPv4(now), bed.State(now), keep.ID, bed.IdentityID(keep), keepIP)
	}
	if !nd.Links(t)[bed.NamesOf(t, keepEID).Host] {
		t.Errorf("running container's link %s removed", bed.NamesOf(t, keepEID).Host)
	}
	allocs := nd.Allocations(t)
	for _, ip := range []netip.Addr{keepIP, keep6} {
		if _, ok := allocs[ip.String()]; !ok {
			t.Errorf("running container's address %s released", ip)
		}
	}
	// A new container publishes the freed port again, and reaches the one kept over IPv6.
	nd.Run(t, "gcpub2", "-l", "name=gcpub2", "--net", net, "-p", "18380:80", bed.Image, "sh", "-c", echoPeer)
	got, err := fromPeer(node, 18380)
	wantSeen(t, "peer -> node:18380 of the new container", got, err, bed.PeerAddr)
	nd.Run(t, "v6new", "-l", "name=v6new", "--net", net6, bed.Image, "sleep", "100000")
	bed.Eventually(t, 10*time.Second, "tcp v6new -> v6keep over IPv6", func() error { return nd.TCP(t, "v6new", keep6.String()) })

	eids = append(eids, keepEID, nd.EndpointID(t, "gcpub2", net))
	ips = append(ips, keepIP, nd.ContainerIP(t, "gcpub2", net))
	eids6 = append(eids6, nd.EndpointID(t, "v6keep", net6), nd.EndpointID(t, "v6new", net6))
	ips6 = append(ips6, keep6, nd.ContainerIP(t, "v6keep", net6), nd.ContainerIP(t, "v6new", net6), v6Of(t, nd, "v6new", net6, r6.Range))
	nd.Must(t, "rm", "-f", "gckeep", "gcpub2", "v6keep", "v6new")
	nd.AssertNoLeak(t, nid, base, ips, eids)
	nd.Must(t, "network", "rm", net6)
	nd.AssertNoLeak(t, nid6, base, ips6, eids6)
}

// TestKillPluginMidBurst kills the plugin with SIGKILL during 10 concurrent docker run and starts it
// again. Every container is either running with a ready, labelled endpoint or failed with an error;
// after docker rm -f of all of them nothing is left, the reconciler removing what the killed process
// left half-made within one interval.
func TestKillPluginMidBurst(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-kill"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	base := nd.LeakBase(t)

	const n = 10
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("kb%d", i)
		t.Cleanup(func() { nd.BestEffort(t, "rm", "-f", names[i]) })
	}
	type result struct {
		out string
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := nd.Docker(t, "run", "-d", "--pull", "never", "--init", "--name", name, "-l", "name="+name,
				"--net", net, bed.Image, "sleep", "100000")
			results[i] = result{out, err}
		}()
	}
	// Kill mid-burst: once the agent has the first endpoints, while the rest are in flight.
	bed.Eventually(t, 60*time.Second, "the burst under way", func() error {
		eps, err := nd.EndpointsOn(nid)
		if err != nil {
			return err
		}
		if len(eps) < 2 {
			return fmt.Errorf("%d endpoints", len(eps))
		}
		return nil
	})
	nd.Kill(t, bed.Plugin)
	killed := time.Now()
	off := nd.LogSize(t, bed.Plugin)
	nd.Start(t, bed.Plugin)
	t.Logf("plugin killed and started again in %s", time.Since(killed).Round(time.Millisecond))
	wg.Wait()
	t.Logf("burst done %s after the kill", time.Since(killed).Round(time.Millisecond))

	var ran, failed int
	var eids []string
	var ips []netip.Addr
	for i, name := range names {
		r := results[i]
		if r.err != nil {
			failed++
			t.Logf("%s failed: %s", name, r.out)
			// A clear error: the plugin's own words (a call dockerd re-sent with an empty body after the
			// kill is refused saying so), never the bare decode of an empty body.
			plain := strings.Contains(r.out, "run the docker command again") || strings.Contains(r.out, "cilium")
			if msg := r.out; strings.Contains(msg, `invalid id ""`) || !plain {
				t.Errorf("%s failed without a clear error: %q", name, msg)
			}
			continue
		}
		ran++
		bed.Eventually(t, 30*time.Second, name+" running with a ready, labelled endpoint", func() error {
			out, err := nd.Docker(t, "inspect", "-f", "{{.State.Running}}", name)
			if err != nil || out != "true" {
				return fmt.Errorf("running %q: %w", out, err)
			}
			ep := nd.EndpointOf(t, name, net)
			if bed.State(ep) != "ready" || !bed.HasLabel(bed.IdentityLabels(ep), "container:name="+name) {
				return fmt.Errorf("state %q labels %v", bed.State(ep), bed.IdentityLabels(ep))
			}
			return nil
		})
		eids, ips = append(eids, nd.EndpointID(t, name, net)), append(ips, nd.ContainerIP(t, name, net))
	}
	t.Logf("%d of %d running with a ready labelled endpoint, %d failed with an error", ran, n, failed)

	nd.Must(t, append([]string{"rm", "-f"}, names...)...)
	start := time.Now()
	// Whatever the killed process had half-made (an address allocated, a link made, an endpoint whose
	// Join answer it never sent) Docker cannot tear down: the reconciler's job, within one interval of
	// the restart plus the hold.
	// The agent's allocation list is up to 5 s old: "nothing left" counts only when it still holds
	// 6 s after it first did.
	var clean time.Time
	bed.Eventually(t, gcDeadline, "nothing left on the network, twice 6 s apart", func() error {
		if err := nothingLeft(t, nd, nid, base); err != nil {
			clean = time.Time{}
			return err
		}
		if clean.IsZero() {
			clean = time.Now()
		}
		if time.Since(clean) < 6*time.Second {
			return fmt.Errorf("clean since %s: confirming past the allocation list's refresh", time.Since(clean).Round(time.Second))
		}
		return nil
	})
	e, l, a := removals(t, nd, off)
	t.Logf("all gone %s after rm -f (%s after the restart); the reconciler removed %d endpoints, %d links, %d addresses",
		time.Since(start).Round(time.Millisecond), time.Since(killed).Round(time.Millisecond), e, l, a)
	nd.AssertNoLeak(t, nid, base, ips, eids)
}

// nothingLeft says what the node holds on network nid beyond base: agent endpoints, plugin addresses,
// links.
func nothingLeft(t *testing.T, nd *bed.Node, nid string, base bed.Leak) error {
	eps, err := nd.EndpointsOn(nid)
	if err != nil {
		return err
	}
	var left []string
	for _, ep := range eps {
		left = append(left, fmt.Sprintf("endpoint %d", ep.ID))
	}
	left = append(left, bed.NewOwned(base.Allocs, nd.Allocations(t))...)
	left = append(left, bed.NewLinks(base.Links, nd.Links(t))...)
	if len(left) > 0 {
		return fmt.Errorf("left: %v", left)
	}
	return nil
}
