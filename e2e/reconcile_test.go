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

// gcInterval is the plugin's default --reconcile-interval, which the bed runs; gcHold is the
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
// the failed teardowns, and the links, agent endpoints and addresses stay. The restarted plugin's
// reconciler removes all of them within one interval, and a running container keeps its state.
func TestReconcilerRemovesWhatDockerForgot(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-gc"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	base := nd.LeakBase(t)

	nd.Run(t, "gckeep", "-l", "name=gckeep", "--net", net, bed.Image, "sleep", "100000")
	keep := nd.EndpointOf(t, "gckeep", net)
	keepEID, keepIP := nd.EndpointID(t, "gckeep", net), nd.ContainerIP(t, "gckeep", net)
	victims := []string{"gc1", "gc2", "gc3"}
	var eids []string
	var ips []netip.Addr
	for _, name := range victims {
		nd.Run(t, name, "-l", "name="+name, "--net", net, bed.Image, "sleep", "100000")
		eids, ips = append(eids, nd.EndpointID(t, name, net)), append(ips, nd.ContainerIP(t, name, net))
	}

	nd.Stop(t, bed.Plugin)
	pluginUp := false
	t.Cleanup(func() {
		if !pluginUp {
			nd.Start(t, bed.Plugin)
		}
	})
	start := time.Now()
	nd.Must(t, append([]string{"rm", "-f"}, victims...)...)
	t.Logf("docker rm -f of %d containers with the plugin down took %s", len(victims), time.Since(start).Round(time.Millisecond))
	eps := nd.MustEndpointsOn(t, nid)
	links := nd.Links(t)
	for _, eid := range eids {
		if bed.ByDockerEndpoint(eps, eid) == nil || !links[bed.NamesOf(t, eid).Host] {
			t.Fatalf("docker endpoint %s: agent endpoint or link already gone with the plugin down; the test proves nothing", eid)
		}
	}

	off := nd.LogSize(t, bed.Plugin)
	nd.Start(t, bed.Plugin)
	pluginUp = true
	start = time.Now()
	gone(t, nd, nid, gcDeadline, eids, ips)
	took := time.Since(start)
	e, l, a := removals(t, nd, off)
	t.Logf("reconciler removed %d agent endpoints, %d links, %d addresses; all gone %s after the plugin started (interval %s, hold %s)",
		e, l, a, took.Round(time.Millisecond), gcInterval, gcHold)
	// At least the victims' (a leftover of an earlier test on this node may go in the same passes).
	if e < len(victims) || l < len(victims) {
		t.Errorf("reconciler logged %d endpoint and %d link removals, want at least %d each", e, l, len(victims))
	}
	log := nd.LogSince(t, bed.Plugin, off)
	for _, eid := range eids {
		if host := bed.NamesOf(t, eid).Host; !strings.Contains(log, "link="+host) {
			t.Errorf("no removal of link %s (docker endpoint %s) logged", host, eid[:12])
		}
	}

	// The running container kept everything: same endpoint, identity, address, link.
	now := nd.EndpointOf(t, "gckeep", net)
	if now.ID != keep.ID || bed.IdentityID(now) != bed.IdentityID(keep) || bed.EndpointIPv4(now) != keepIP || bed.State(now) != "ready" {
		t.Errorf("running container's endpoint: id %d identity %d %s %q, before id %d identity %d %s",
			now.ID, bed.IdentityID(now), bed.EndpointIPv4(now), bed.State(now), keep.ID, bed.IdentityID(keep), keepIP)
	}
	if !nd.Links(t)[bed.NamesOf(t, keepEID).Host] {
		t.Errorf("running container's link %s removed", bed.NamesOf(t, keepEID).Host)
	}
	if _, ok := nd.Allocations(t)[keepIP.String()]; !ok {
		t.Errorf("running container's address %s released", keepIP)
	}

	nd.Must(t, "rm", "-f", "gckeep")
	nd.AssertNoLeak(t, nid, base, append(ips, keepIP), append(eids, keepEID))
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
			if strings.TrimSpace(r.out) == "" {
				t.Errorf("%s failed without a message", name)
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
