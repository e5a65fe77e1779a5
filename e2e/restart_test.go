package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/ipam"
)

// TestAgentRestartKeepsAddresses restarts cilium-agent under two running containers: the agent
// restores their endpoints under the same identity, they still reach each other, their addresses stay
// allocated, a container started afterwards gets a fresh address, and removing everything leaks
// nothing.
func TestAgentRestartKeepsAddresses(t *testing.T) {
	nd := upNode(t, 1)
	net := "cd-agent-restart"
	nd.network(t, net)
	nid := nd.networkID(t, net)
	base := nd.leakBase(t)

	nd.run(t, "ar1", "-l", "name=ar1", "--net", net, image, "sh", "-c", "while true; do echo pong | nc -l -p 8080; done")
	nd.run(t, "ar2", "-l", "name=ar2", "--net", net, image, "sleep", "100000")
	type before struct {
		eid    string
		ip     netip.Addr
		labels []string
		id     int64
	}
	was := map[string]before{}
	for _, name := range []string{"ar1", "ar2"} {
		ep := nd.endpointOf(t, name, net)
		was[name] = before{eid: nd.endpointID(t, name, net), ip: nd.containerIP(t, name, net),
			labels: slices.Sorted(slices.Values(identityLabels(ep))), id: identityID(ep)}
		if !hasLabel(identityLabels(ep), "container:name="+name) {
			t.Fatalf("%s before the restart: identity labels %v", name, identityLabels(ep))
		}
	}
	ar1 := was["ar1"].ip.String()
	eventually(t, 10*time.Second, "tcp ar2 -> ar1 before the restart", func() error { return tcp(nd, t, "ar2", ar1) })

	start := time.Now()
	nd.bed(t, "restart-agent")
	t.Logf("agent restarted and healthy in %s", time.Since(start).Round(time.Millisecond))

	eventually(t, 60*time.Second, "both endpoints restored, ready, same identity", func() error {
		eps, err := nd.endpointsOn(nid)
		if err != nil {
			return err
		}
		if len(eps) != 2 {
			return fmt.Errorf("agent lists %d endpoints on %s, want 2", len(eps), net)
		}
		for name, w := range was {
			ep := byDockerEndpoint(eps, w.eid)
			if ep == nil {
				return fmt.Errorf("%s: endpoint of docker endpoint %s not restored", name, w.eid)
			}
			if s := state(ep); s != "ready" {
				return fmt.Errorf("%s: state %q", name, s)
			}
			if got := slices.Sorted(slices.Values(identityLabels(ep))); !slices.Equal(got, w.labels) || identityID(ep) != w.id {
				return fmt.Errorf("%s: identity %d %v, before the restart %d %v", name, identityID(ep), got, w.id, w.labels)
			}
			if got := endpointIPv4(ep); got != w.ip {
				return fmt.Errorf("%s: endpoint address %s, container address %s", name, got, w.ip)
			}
		}
		return nil
	})
	t.Logf("endpoints restored and ready %s after the restart began", time.Since(start).Round(time.Millisecond))
	eventually(t, 30*time.Second, "tcp ar2 -> ar1 after the restart", func() error { return tcp(nd, t, "ar2", ar1) })
	// healthz IPAM data is cached for about 5 s: poll past that.
	eventually(t, 20*time.Second, "both addresses still allocated in the agent", func() error {
		allocs := nd.allocations(t)
		for name, w := range was {
			if _, ok := allocs[w.ip.String()]; !ok {
				return fmt.Errorf("%s's address %s not allocated: %v", name, w.ip, allocs)
			}
		}
		return nil
	})

	nd.run(t, "ar3", "-l", "name=ar3", "--net", net, image, "sleep", "100000")
	ip3 := nd.containerIP(t, "ar3", net)
	if ip3 == was["ar1"].ip || ip3 == was["ar2"].ip {
		t.Fatalf("new container got %s, an address still in use (ar1 %s, ar2 %s)", ip3, was["ar1"].ip, was["ar2"].ip)
	}
	ep3 := nd.endpointOf(t, "ar3", net)
	if state(ep3) != "ready" || !hasLabel(identityLabels(ep3), "container:name=ar3") {
		t.Fatalf("new container's endpoint: state %q, labels %v", state(ep3), identityLabels(ep3))
	}
	eid3 := nd.endpointID(t, "ar3", net)
	eventually(t, 10*time.Second, "ping ar3 -> ar1", func() error {
		_, err := nd.docker(t, "exec", "ar3", "ping", "-c", "1", "-W", "1", ar1)
		return err
	})

	nd.must(t, "rm", "-f", "ar1", "ar2", "ar3")
	nd.assertNoLeak(t, nid, base, []netip.Addr{was["ar1"].ip, was["ar2"].ip, ip3},
		[]string{was["ar1"].eid, was["ar2"].eid, eid3})
}

// TestPluginRestart restarts the plugin under a running container: the new process has an empty
// address book, yet stopping and removing the container works, a new container starts, and nothing
// leaks.
func TestPluginRestart(t *testing.T) {
	nd := upNode(t, 1)
	net := "cd-plugin-restart"
	nd.network(t, net)
	nid := nd.networkID(t, net)
	base := nd.leakBase(t)

	nd.run(t, "pr1", "-l", "name=pr1", "--net", net, image, "sleep", "100000")
	ip1, eid1 := nd.containerIP(t, "pr1", net), nd.endpointID(t, "pr1", net)

	start := time.Now()
	nd.bed(t, "restart-plugin")
	t.Logf("plugin restarted in %s", time.Since(start).Round(time.Millisecond))

	// Leave, DeleteEndpoint and ReleaseAddress reach a plugin that never saw this container.
	start = time.Now()
	nd.must(t, "stop", "-t", "1", "pr1")
	if eps := nd.mustEndpointsOn(t, nid); len(eps) != 0 {
		t.Fatalf("after docker stop the agent still has %d endpoints on %s", len(eps), net)
	}
	if links := nd.links(t); links[namesOf(t, eid1).Host] {
		t.Fatalf("after docker stop the link %s is left", namesOf(t, eid1).Host)
	}
	nd.must(t, "rm", "pr1")
	t.Logf("docker stop + rm after the restart took %s", time.Since(start).Round(time.Millisecond))

	nd.run(t, "pr2", "-l", "name=pr2", "--net", net, image, "sleep", "100000")
	ep := nd.endpointOf(t, "pr2", net)
	if state(ep) != "ready" || !hasLabel(identityLabels(ep), "container:name=pr2") {
		t.Fatalf("container started after the restart: endpoint state %q, labels %v", state(ep), identityLabels(ep))
	}
	ip2, eid2 := nd.containerIP(t, "pr2", net), nd.endpointID(t, "pr2", net)
	fam := nd.agentRange(t)
	if _, err := nd.docker(t, "exec", "pr2", "ping", "-c", "1", "-W", "2", fam.Router.String()); err != nil {
		t.Fatalf("container started after the restart cannot reach its gateway %s: %v", fam.Router, err)
	}

	nd.must(t, "rm", "-f", "pr2")
	nd.assertNoLeak(t, nid, base, []netip.Addr{ip1, ip2}, []string{eid1, eid2})
}

// TestAgentDownFailsFast stops cilium-agent: docker run on a cilium network fails within seconds with
// an error naming the agent and leaves nothing behind; once the agent is back a container starts
// without a plugin restart.
func TestAgentDownFailsFast(t *testing.T) {
	nd := upNode(t, 1)
	net := "cd-agent-down"
	nd.network(t, net)
	nid := nd.networkID(t, net)
	base := nd.leakBase(t)
	pluginPID := nd.recordedPID(t, "plugin")

	nd.bed(t, "stop-agent")
	agentUp := false
	t.Cleanup(func() {
		if !agentUp {
			if out, err := testbed(5*time.Minute, "start-agent", fmt.Sprint(nd.n)); err != nil {
				t.Errorf("start-agent at cleanup: %v\n%s", err, out)
			}
		}
	})

	t.Cleanup(func() { nd.bestEffort(t, "rm", "-f", "down1") })
	start := time.Now()
	out, err := nd.docker(t, "run", "-d", "--pull", "never", "--init", "--name", "down1", "-l", "name=down1", "--net", net, image, "sleep", "100000")
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
	if extra := newLinks(base.links, nd.links(t)); len(extra) > 0 {
		t.Fatalf("the failed run left links %v", extra)
	}
	nd.bestEffort(t, "rm", "-f", "down1")

	start = time.Now()
	nd.bed(t, "start-agent")
	agentUp = true
	t.Logf("agent started and healthy in %s", time.Since(start).Round(time.Millisecond))
	if eps := nd.mustEndpointsOn(t, nid); len(eps) != 0 {
		t.Fatalf("the failed run left %d agent endpoints", len(eps))
	}
	if extra := newOwned(base.allocs, nd.allocations(t)); len(extra) > 0 {
		t.Fatalf("allocations after the agent is back: %v", extra)
	}

	nd.run(t, "up1", "-l", "name=up1", "--net", net, image, "sleep", "100000")
	if pid := nd.recordedPID(t, "plugin"); pid != pluginPID {
		t.Fatalf("the plugin restarted (pid %s, was %s)", pid, pluginPID)
	}
	ep := nd.endpointOf(t, "up1", net)
	if state(ep) != "ready" || !hasLabel(identityLabels(ep), "container:name=up1") {
		t.Fatalf("container after the agent came back: endpoint state %q, labels %v", state(ep), identityLabels(ep))
	}
	ip, eid := nd.containerIP(t, "up1", net), nd.endpointID(t, "up1", net)
	nd.must(t, "rm", "-f", "up1")
	nd.assertNoLeak(t, nid, base, []netip.Addr{ip}, []string{eid})
}

// TestLabelsAppliedLater takes Join's fallback path with a real fault: dockerd restarts a container
// with a restart policy while it restores its state at boot, before it serves its API, so the
// plugin cannot read the container's labels at Join. The endpoint is created anyway, and the label
// sync gives it the container's labels, and only those, as soon as Docker answers again.
func TestLabelsAppliedLater(t *testing.T) {
	nd := upNode(t, 1)
	net := "cd-labels-later"
	nd.network(t, net)
	nid := nd.networkID(t, net)
	base := nd.leakBase(t)

	nd.run(t, "late1", "--restart", "always", "-l", "name=late1", "-l", "tier=db", "--net", net, image, "sleep", "100000")
	oldEID := nd.endpointID(t, "late1", net)
	oldIP := nd.containerIP(t, "late1", net)
	want := slices.Sorted(slices.Values(identityLabels(nd.endpointOf(t, "late1", net))))
	if !slices.Equal(want, []string{"container:name=late1", "container:tier=db"}) {
		t.Fatalf("identity labels at the first start: %v", want)
	}

	logStart := nd.pluginLogSize(t)
	start := time.Now()
	nd.bed(t, "restart-dockerd")
	t.Logf("dockerd restarted in %s", time.Since(start).Round(time.Millisecond))

	var eid string
	eventually(t, 30*time.Second, "late1 running again", func() error {
		out, err := nd.docker(t, "inspect", "-f", fmt.Sprintf("{{.State.Running}} {{(index .NetworkSettings.Networks %q).EndpointID}}", net), "late1")
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
		t.Fatalf("late1 kept endpoint %s across the dockerd restart: the test needs a new Join", eid)
	}
	// The fault happened: the plugin joined the new endpoint without the container's labels.
	logged := nd.pluginLogSince(t, logStart)
	if !regexp.MustCompile(`container labels not known at join.*endpoint=` + eid).MatchString(logged) {
		t.Fatalf("the plugin read late1's labels at Join (no fallback for endpoint %s); plugin log since the restart:\n%s", eid, logged)
	}
	eventually(t, 30*time.Second, "late1's endpoint gets exactly its labels", func() error {
		eps, err := nd.endpointsOn(nid)
		if err != nil {
			return err
		}
		ep := byDockerEndpoint(eps, eid)
		if ep == nil {
			return fmt.Errorf("no agent endpoint for docker endpoint %s", eid)
		}
		got := slices.Sorted(slices.Values(identityLabels(ep)))
		if !slices.Equal(got, want) || state(ep) != "ready" {
			return fmt.Errorf("state %q, identity labels %v, want ready and %v", state(ep), got, want)
		}
		return nil
	})
	t.Logf("labels applied %s after the dockerd restart began", time.Since(start).Round(time.Millisecond))
	if eps := nd.mustEndpointsOn(t, nid); len(eps) != 1 {
		t.Fatalf("agent has %d endpoints on %s, want 1 (the old one must be gone)", len(eps), net)
	}

	newIP := nd.containerIP(t, "late1", net)
	nd.must(t, "rm", "-f", "late1")
	nd.assertNoLeak(t, nid, base, []netip.Addr{oldIP, newIP}, []string{oldEID, eid})
}

// bed runs a testbed subcommand that takes the node number last, failing the test on error.
func (nd *node) bed(t testing.TB, cmd string) {
	t.Helper()
	if out, err := testbed(5*time.Minute, cmd, fmt.Sprint(nd.n)); err != nil {
		t.Fatalf("testbed %s %d: %v\n%s", cmd, nd.n, err, out)
	}
}

func (nd *node) networkID(t testing.TB, net string) string {
	t.Helper()
	return nd.must(t, "network", "inspect", "-f", "{{.Id}}", net)
}

// endpointID returns the Docker endpoint ID of container name on net.
func (nd *node) endpointID(t testing.TB, name, net string) string {
	t.Helper()
	return nd.must(t, "inspect", "-f", fmt.Sprintf("{{(index .NetworkSettings.Networks %q).EndpointID}}", net), name)
}

// endpointsOn lists the agent's endpoints the plugin made. Cilium 1.20 no longer reports an endpoint's
// Docker network, so these are the endpoints of every cilium network: the tests use one at a time.
func (nd *node) endpointsOn(nid string) ([]*models.Endpoint, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	eps, err := nd.agent.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	var out []*models.Endpoint
	for _, ep := range eps {
		if dockerEndpointOf(ep) != "" {
			out = append(out, ep)
		}
	}
	return out, nil
}

func (nd *node) mustEndpointsOn(t testing.TB, nid string) []*models.Endpoint {
	t.Helper()
	eps, err := nd.endpointsOn(nid)
	if err != nil {
		t.Fatalf("list agent endpoints: %v", err)
	}
	return eps
}

func byDockerEndpoint(eps []*models.Endpoint, eid string) *models.Endpoint {
	for _, ep := range eps {
		if dockerEndpointOf(ep) == eid {
			return ep
		}
	}
	return nil
}

func endpointIPv4(ep *models.Endpoint) netip.Addr {
	if ep.Status == nil || ep.Status.Networking == nil {
		return netip.Addr{}
	}
	for _, p := range ep.Status.Networking.Addressing {
		if ip, err := netip.ParseAddr(p.IPv4); err == nil {
			return ip
		}
	}
	return netip.Addr{}
}

// linkLine matches a line of `ip -o link show`: "7: lxc0123@if6: <...".
var linkLine = regexp.MustCompile(`^\d+: ([^:@ ]+)[@:]`)

// links returns the names of the node's links.
func (nd *node) links(t testing.TB) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, l := range strings.Split(nd.inNode(t, "ip", "-o", "link", "show"), "\n") {
		if m := linkLine.FindStringSubmatch(l); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

// newLinks returns the lxc*/tmp* links in now that were not in before.
func newLinks(before, now map[string]bool) []string {
	var out []string
	for l := range now {
		if (strings.HasPrefix(l, "lxc") || strings.HasPrefix(l, "tmp")) && !before[l] {
			out = append(out, l)
		}
	}
	return out
}

// newOwned returns the allocations in now owned by this plugin, or restored by the agent for an
// endpoint (owner "… [restored]"), that were not in before.
func newOwned(before, now map[string]string) []string {
	var out []string
	for ip, owner := range now {
		if _, ok := before[ip]; ok {
			continue
		}
		if strings.Contains(owner, ipam.Owner) || strings.Contains(owner, "[restored]") {
			out = append(out, ip+"="+owner)
		}
	}
	return out
}

// leak is what the node had before a test: leaks are what it has more afterwards, so that a test does
// not blame itself for what another one left.
type leak struct {
	allocs map[string]string
	links  map[string]bool
}

func (nd *node) leakBase(t testing.TB) leak {
	t.Helper()
	return leak{allocs: nd.allocations(t), links: nd.links(t)}
}

// assertNoLeak checks, after every container of network nid was removed, that no agent endpoint is
// left on it, that none of ips is still allocated and no new address is held by the plugin, and that
// neither the links of eids nor any other new lxc/tmp link is left.
func (nd *node) assertNoLeak(t testing.TB, nid string, base leak, ips []netip.Addr, eids []string) {
	t.Helper()
	if eps := nd.mustEndpointsOn(t, nid); len(eps) != 0 {
		t.Fatalf("agent still has %d endpoints on the network", len(eps))
	}
	// healthz IPAM data is cached for about 5 s: poll past that.
	eventually(t, 20*time.Second, "no address left allocated", func() error {
		allocs := nd.allocations(t)
		var left []string
		for _, ip := range ips {
			if owner, ok := allocs[ip.String()]; ok {
				left = append(left, ip.String()+"="+owner)
			}
		}
		left = append(left, newOwned(base.allocs, allocs)...)
		if len(left) > 0 {
			return fmt.Errorf("allocations left: %v", left)
		}
		return nil
	})
	links := nd.links(t)
	for _, eid := range eids {
		n := namesOf(t, eid)
		if links[n.Host] || links[n.Container] {
			t.Fatalf("link of endpoint %s left: %s/%s", eid, n.Host, n.Container)
		}
	}
	if extra := newLinks(base.links, links); len(extra) > 0 {
		t.Fatalf("links left: %v", extra)
	}
}

// recordedPID returns the PID the test bed recorded for a node daemon.
func (nd *node) recordedPID(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(nd.env["NODE_DIR"], name+".pid"))
	if err != nil {
		t.Fatalf("%s pid: %v", name, err)
	}
	pid, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	return pid
}

func (nd *node) pluginLog() string { return filepath.Join(nd.env["NODE_DIR"], "plugin.log") }

func (nd *node) pluginLogSize(t testing.TB) int64 {
	t.Helper()
	fi, err := os.Stat(nd.pluginLog())
	if err != nil {
		t.Fatalf("plugin log: %v", err)
	}
	return fi.Size()
}

// pluginLogSince returns what the plugin logged after the log had size off.
func (nd *node) pluginLogSince(t testing.TB, off int64) string {
	t.Helper()
	b, err := os.ReadFile(nd.pluginLog())
	if err != nil {
		t.Fatalf("plugin log: %v", err)
	}
	if off > int64(len(b)) {
		return string(b)
	}
	return string(b[off:])
}
