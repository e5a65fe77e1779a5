package e2e

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestAgentRestartKeepsAddresses restarts cilium-agent under five running containers: the agent
// restores their endpoints under the same identity, they still reach each other, their addresses stay
// allocated, a container started afterwards gets a fresh address, and removing everything leaks
// nothing.
func TestAgentRestartKeepsAddresses(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-agent-restart"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	base := nd.LeakBase(t)

	nd.Run(t, "ar1", "-l", "name=ar1", "--net", net, bed.Image, "sh", "-c", "while true; do echo pong | nc -l -p 8080; done")
	running := []string{"ar1", "ar2", "ar4", "ar5", "ar6"}
	for _, name := range running[1:] {
		nd.Run(t, name, "-l", "name="+name, "--net", net, bed.Image, "sleep", "100000")
	}
	type before struct {
		eid    string
		ip     netip.Addr
		labels []string
		id     int64
	}
	was := map[string]before{}
	for _, name := range running {
		ep := nd.EndpointOf(t, name, net)
		was[name] = before{eid: nd.EndpointID(t, name, net), ip: nd.ContainerIP(t, name, net),
			labels: slices.Sorted(slices.Values(bed.IdentityLabels(ep))), id: bed.IdentityID(ep)}
		if !bed.HasLabel(bed.IdentityLabels(ep), "container:name="+name) {
			t.Fatalf("%s before the restart: identity labels %v", name, bed.IdentityLabels(ep))
		}
	}
	ar1 := was["ar1"].ip.String()
	bed.Eventually(t, 10*time.Second, "tcp ar2 -> ar1 before the restart", func() error { return nd.TCP(t, "ar2", ar1) })

	start := time.Now()
	nd.Restart(t, bed.Agent)
	t.Logf("agent restarted and healthy in %s", time.Since(start).Round(time.Millisecond))

	bed.Eventually(t, 60*time.Second, "every endpoint restored, ready, same identity", func() error {
		eps, err := nd.EndpointsOn(nid)
		if err != nil {
			return err
		}
		if len(eps) != len(running) {
			return fmt.Errorf("agent lists %d endpoints on %s, want %d", len(eps), net, len(running))
		}
		for name, w := range was {
			ep := bed.ByDockerEndpoint(eps, w.eid)
			if ep == nil {
				return fmt.Errorf("%s: endpoint of docker endpoint %s not restored", name, w.eid)
			}
			if s := bed.State(ep); s != "ready" {
				return fmt.Errorf("%s: state %q", name, s)
			}
			if got := slices.Sorted(slices.Values(bed.IdentityLabels(ep))); !slices.Equal(got, w.labels) || bed.IdentityID(ep) != w.id {
				return fmt.Errorf("%s: identity %d %v, before the restart %d %v", name, bed.IdentityID(ep), got, w.id, w.labels)
			}
			if got := bed.EndpointIPv4(ep); got != w.ip {
				return fmt.Errorf("%s: endpoint address %s, container address %s", name, got, w.ip)
			}
		}
		return nil
	})
	t.Logf("endpoints restored and ready %s after the restart began", time.Since(start).Round(time.Millisecond))
	bed.Eventually(t, 30*time.Second, "tcp ar2 -> ar1 after the restart", func() error { return nd.TCP(t, "ar2", ar1) })
	// healthz IPAM data is cached for about 5 s: poll past that.
	bed.Eventually(t, 20*time.Second, "every address still allocated in the agent", func() error {
		allocs := nd.Allocations(t)
		for name, w := range was {
			if _, ok := allocs[w.ip.String()]; !ok {
				return fmt.Errorf("%s's address %s not allocated: %v", name, w.ip, allocs)
			}
		}
		return nil
	})

	nd.Run(t, "ar3", "-l", "name=ar3", "--net", net, bed.Image, "sleep", "100000")
	ip3 := nd.ContainerIP(t, "ar3", net)
	for name, w := range was {
		if ip3 == w.ip {
			t.Fatalf("new container got %s, %s's address", ip3, name)
		}
	}
	ep3 := nd.EndpointOf(t, "ar3", net)
	if !bed.Built(ep3) || !bed.HasLabel(bed.IdentityLabels(ep3), "container:name=ar3") {
		t.Fatalf("new container's endpoint: state %q, labels %v", bed.State(ep3), bed.IdentityLabels(ep3))
	}
	eid3 := nd.EndpointID(t, "ar3", net)
	bed.Eventually(t, 10*time.Second, "ping ar3 -> ar1", func() error {
		_, err := nd.Docker(t, "exec", "ar3", "ping", "-c", "1", "-W", "1", ar1)
		return err
	})

	nd.Must(t, append([]string{"rm", "-f", "ar3"}, running...)...)
	ips, eids := []netip.Addr{ip3}, []string{eid3}
	for _, w := range was {
		ips, eids = append(ips, w.ip), append(eids, w.eid)
	}
	nd.AssertNoLeak(t, nid, base, ips, eids)
}

// TestPluginRestart restarts the plugin under a running container: the new process has an empty
// address book, yet stopping and removing the container works, a new container starts, and nothing
// leaks.
func TestPluginRestart(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-plugin-restart"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	base := nd.LeakBase(t)

	nd.Run(t, "pr1", "-l", "name=pr1", "--net", net, bed.Image, "sleep", "100000")
	ip1, eid1 := nd.ContainerIP(t, "pr1", net), nd.EndpointID(t, "pr1", net)

	start := time.Now()
	nd.Restart(t, bed.Plugin)
	t.Logf("plugin restarted in %s", time.Since(start).Round(time.Millisecond))

	// Leave, DeleteEndpoint and ReleaseAddress reach a plugin that never saw this container.
	start = time.Now()
	nd.Must(t, "stop", "-t", "1", "pr1")
	if eps := nd.MustEndpointsOn(t, nid); len(eps) != 0 {
		t.Fatalf("after docker stop the agent still has %d endpoints on %s", len(eps), net)
	}
	nd.AssertLinksGone(t, eid1)
	nd.Must(t, "rm", "pr1")
	t.Logf("docker stop + rm after the restart took %s", time.Since(start).Round(time.Millisecond))

	nd.Run(t, "pr2", "-l", "name=pr2", "--net", net, bed.Image, "sleep", "100000")
	ep := nd.EndpointOf(t, "pr2", net)
	if !bed.Built(ep) || !bed.HasLabel(bed.IdentityLabels(ep), "container:name=pr2") {
		t.Fatalf("container started after the restart: endpoint state %q, labels %v", bed.State(ep), bed.IdentityLabels(ep))
	}
	ip2, eid2 := nd.ContainerIP(t, "pr2", net), nd.EndpointID(t, "pr2", net)
	fam := nd.AgentRange(t)
	if _, err := nd.Docker(t, "exec", "pr2", "ping", "-c", "1", "-W", "2", fam.Router.String()); err != nil {
		t.Fatalf("container started after the restart cannot reach its gateway %s: %v", fam.Router, err)
	}

	nd.Must(t, "rm", "-f", "pr2")
	nd.AssertNoLeak(t, nid, base, []netip.Addr{ip1, ip2}, []string{eid1, eid2})
}

// TestAgentDownFailsFast stops cilium-agent: docker run on a cilium network fails within seconds with
// an error naming the agent and leaves nothing behind; once the agent is back a container starts
// without a plugin restart.
func TestAgentDownFailsFast(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-agent-down"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	base := nd.LeakBase(t)
	pluginPID := nd.PID(t, bed.Plugin)

	nd.Stop(t, bed.Agent)
	agentUp := false
	t.Cleanup(func() {
		if !agentUp {
			nd.Start(t, bed.Agent)
		}
	})

	t.Cleanup(func() { nd.BestEffort(t, "rm", "-f", "down1") })
	start := time.Now()
	out, err := nd.Docker(t, "run", "-d", "--pull", "never", "--init", "--name", "down1", "-l", "name=down1", "--net", net, bed.Image, "sleep", "100000")
	took := time.Since(start)
	t.Logf("docker run with the agent down: %s, %v: %s", took.Round(time.Millisecond), err, out)
	if err == nil {
		t.Fatalf("docker run succeeded with the agent down: %s", out)
	}
	if !strings.Contains(out, "cilium-agent not reachable") {
		t.Fatalf("docker run error %q does not say cilium-agent not reachable", out)
	}
	if took > 15*time.Second {
		t.Fatalf("docker run took %s to fail, want < 15s", took)
	}
	nd.AssertNoNewLinks(t, base.Links)
	nd.BestEffort(t, "rm", "-f", "down1")

	start = time.Now()
	nd.Start(t, bed.Agent)
	agentUp = true
	t.Logf("agent started and healthy in %s", time.Since(start).Round(time.Millisecond))
	if eps := nd.MustEndpointsOn(t, nid); len(eps) != 0 {
		t.Fatalf("the failed run left %d agent endpoints", len(eps))
	}
	if extra := bed.NewOwned(base.Allocs, nd.Allocations(t)); len(extra) > 0 {
		t.Fatalf("allocations after the agent is back: %v", extra)
	}

	nd.Run(t, "up1", "-l", "name=up1", "--net", net, bed.Image, "sleep", "100000")
	if pid := nd.PID(t, bed.Plugin); pid != pluginPID {
		t.Fatalf("the plugin restarted (pid %d, was %d)", pid, pluginPID)
	}
	ep := nd.EndpointOf(t, "up1", net)
	if !bed.Built(ep) || !bed.HasLabel(bed.IdentityLabels(ep), "container:name=up1") {
		t.Fatalf("container after the agent came back: endpoint state %q, labels %v", bed.State(ep), bed.IdentityLabels(ep))
	}
	ip, eid := nd.ContainerIP(t, "up1", net), nd.EndpointID(t, "up1", net)
	nd.Must(t, "rm", "-f", "up1")
	nd.AssertNoLeak(t, nid, base, []netip.Addr{ip}, []string{eid})
}

// TestLabelsAppliedLater takes Join's fallback path with a real fault: dockerd restarts a container
// with a restart policy while it restores its state at boot, before it serves its API, so the
// plugin cannot read the container's labels at Join. The endpoint is created anyway, and the label
// sync gives it the container's labels, and only those, as soon as Docker answers again.
func TestLabelsAppliedLater(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-labels-later"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	base := nd.LeakBase(t)

	nd.Run(t, "late1", "--restart", "always", "-l", "name=late1", "-l", "tier=db", "--net", net, bed.Image, "sleep", "100000")
	oldEID := nd.EndpointID(t, "late1", net)
	oldIP := nd.ContainerIP(t, "late1", net)
	want := slices.Sorted(slices.Values(bed.IdentityLabels(nd.EndpointOf(t, "late1", net))))
	// The container's labels, and the namespace and cluster labels the plugin stamps on every endpoint.
	if !slices.Equal(want, []string{"container:name=late1", "container:tier=db",
		"k8s:io.cilium.k8s.policy.cluster=local", "k8s:io.kubernetes.pod.namespace=docker"}) {
		t.Fatalf("identity labels at the first start: %v", want)
	}

	start := time.Now()
	eid := rejoinedWithoutLabels(t, nd, "late1", net, oldEID)
	bed.Eventually(t, 30*time.Second, "late1's endpoint gets exactly its labels", func() error {
		eps, err := nd.EndpointsOn(nid)
		if err != nil {
			return err
		}
		ep := bed.ByDockerEndpoint(eps, eid)
		if ep == nil {
			return fmt.Errorf("no agent endpoint for docker endpoint %s", eid)
		}
		got := slices.Sorted(slices.Values(bed.IdentityLabels(ep)))
		if !slices.Equal(got, want) || bed.State(ep) != "ready" {
			return fmt.Errorf("state %q, identity labels %v, want ready and %v", bed.State(ep), got, want)
		}
		return nil
	})
	t.Logf("labels applied %s after the dockerd restart began", time.Since(start).Round(time.Millisecond))
	if eps := nd.MustEndpointsOn(t, nid); len(eps) != 1 {
		t.Fatalf("agent has %d endpoints on %s, want 1 (the old one must be gone)", len(eps), net)
	}

	newIP := nd.ContainerIP(t, "late1", net)
	nd.Must(t, "rm", "-f", "late1")
	nd.AssertNoLeak(t, nid, base, []netip.Addr{oldIP, newIP}, []string{oldEID, eid})
}

// rejoinedWithoutLabels restarts the node's dockerd, which starts --restart always container name again
// while it boots, and returns the container's new endpoint on net, after checking the fault happened:
// a new Join (not oldEID), at which the plugin could not tell the container's labels.
func rejoinedWithoutLabels(t *testing.T, nd *bed.Node, name, net, oldEID string) string {
	t.Helper()
	logStart := nd.LogSize(t, bed.Plugin)
	start := time.Now()
	nd.Restart(t, bed.Dockerd)
	t.Logf("dockerd restarted in %s", time.Since(start).Round(time.Millisecond))
	var eid string
	bed.Eventually(t, 30*time.Second, name+" running again", func() error {
		out, err := nd.Docker(t, "inspect", "-f", fmt.Sprintf("{{.State.Running}} {{(index .NetworkSettings.Networks %q).EndpointID}}", net), name)
		if err != nil {
			return fmt.Errorf("inspect: %w: %q", err, out)
		}
		running, id, _ := strings.Cut(out, " ")
		if running != "true" || id == "" {
			return fmt.Errorf("inspect: %q", out)
		}
		eid = id
		return nil
	})
	if eid == oldEID {
		t.Fatalf("%s kept endpoint %s across the dockerd restart: the test needs a new Join", name, eid)
	}
	if logged := nd.LogSince(t, bed.Plugin, logStart); !regexp.MustCompile(`container labels not known at join.*endpoint=` + eid).MatchString(logged) {
		t.Fatalf("the plugin read %s's labels at Join (no fallback for endpoint %s); plugin log since the restart:\n%s", name, eid, logged)
	}
	return eid
}
