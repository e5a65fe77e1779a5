package e2e

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestDockerdRestartWithFreshPlugin is a reboot: dockerd and the plugin start together, dockerd accepts
// API connections before it has restored its restart-policy containers, and their Joins need the
// plugin. A plugin whose Docker client waited on that dockerd (the label sync's first call negotiates
// the API version under a lock, with no deadline) would hold every Join behind it, and dockerd would
// never finish starting. Here dockerd comes up and the containers come back, under their labels.
func TestDockerdRestartWithFreshPlugin(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-reboot"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	names := []string{"rb1", "rb2", "rb3"}
	ids := map[string]int64{}
	for _, name := range names {
		nd.Run(t, name, "--restart", "always", "-l", "name="+name, "--net", net, bed.Image, "sleep", "100000")
		ids[name] = bed.IdentityID(nd.EndpointOf(t, name, net))
	}

	start := time.Now()
	nd.Stop(t, bed.Dockerd) // a shutdown's order: dockerd first, then the plugin it depends on
	nd.Stop(t, bed.Plugin)
	nd.Start(t, bed.Plugin) // fresh: nothing negotiated with any dockerd yet
	nd.Start(t, bed.Dockerd)
	t.Logf("plugin and dockerd started again in %s", time.Since(start).Round(time.Millisecond))

	bed.Eventually(t, 60*time.Second, "the restart-policy containers running again, built under their labels", func() error {
		return nd.BackUnder(t, nid, net, ids)
	})
	t.Logf("all %d back %s after the restart began", len(names), time.Since(start).Round(time.Millisecond))
	nd.Run(t, "rb4", "-l", "name=rb4", "--net", net, bed.Image, "sleep", "100000")
	if ep := nd.EndpointOf(t, "rb4", net); !bed.Built(ep) {
		t.Fatalf("a new container after the restart: state %q", bed.State(ep))
	}
	for _, name := range append(names, "rb4") {
		nd.Must(t, "rm", "-f", name)
	}
	nd.AssertClean(t)
}

// TestFrozenAgent: an agent that accepts connections but answers nothing (SIGSTOP) fails `docker run`
// within the plugin's deadline with words that say what is wrong; once it runs again, so does the next
// `docker run`, with the same plugin process.
func TestFrozenAgent(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-frozen"
	nd.Network(t, net)
	pluginPID := nd.PID(t, bed.Plugin)
	base := nd.LeakBase(t)

	nd.Freeze(t, bed.Agent)
	frozen := true
	t.Cleanup(func() {
		if frozen {
			nd.Thaw(t, bed.Agent)
		}
	})
	start := time.Now()
	out, err := nd.Docker(t, "run", "-d", "--pull", "never", "--init", "--name", "fz1", "-l", "name=fz1", "--net", net, bed.Image, "sleep", "100000")
	took := time.Since(start)
	t.Logf("docker run with the agent frozen: %s: %s", took.Round(time.Millisecond), out)
	nd.BestEffort(t, "rm", "-f", "fz1")
	if err == nil {
		t.Fatalf("docker run succeeded with the agent frozen: %s", out)
	}
	if !strings.Contains(out, "did not answer") || !strings.Contains(out, "in time") {
		t.Fatalf("docker run error %q does not say the agent did not answer in time", out)
	}
	if took > 20*time.Second {
		t.Fatalf("docker run took %s to fail, want it within the plugin's 10s agent deadline (and < 20s)", took)
	}
	nd.Thaw(t, bed.Agent)
	frozen = false

	nd.Run(t, "fz2", "-l", "name=fz2", "--net", net, bed.Image, "sleep", "100000")
	if ep := nd.EndpointOf(t, "fz2", net); !bed.Built(ep) || !bed.HasLabel(bed.IdentityLabels(ep), "container:name=fz2") {
		t.Fatalf("docker run after the thaw: state %q, labels %v", bed.State(ep), bed.IdentityLabels(ep))
	}
	if pid := nd.PID(t, bed.Plugin); pid != pluginPID {
		t.Fatalf("the plugin restarted (pid %d, was %d)", pid, pluginPID)
	}
	nd.Must(t, "rm", "-f", "fz2")
	// The frozen agent still carries out the allocation the plugin gave up on once it runs again; no
	// Docker endpoint explains that address, so the reconciler releases it within one interval (1m)
	// and its confirming pass (20 s).
	start = time.Now()
	bed.Eventually(t, 150*time.Second, "nothing left of the frozen-agent runs", func() error {
		if extra := bed.NewLinks(base.Links, nd.Links(t)); len(extra) > 0 {
			return fmt.Errorf("links %v", extra)
		}
		if extra := bed.NewOwned(base.Allocs, nd.Allocations(t)); len(extra) > 0 {
			return fmt.Errorf("allocations %v", extra)
		}
		return nil
	})
	t.Logf("nothing left %s after the last run", time.Since(start).Round(time.Second))
}

// TestBursts starts 100 containers at once, as `docker compose up --scale` does, on the stack's agent
// limits: every start succeeds with its own address, every endpoint is built under its labels, and
// after `rm -f` of all of them nothing is left. (Docker 20.10 sends all 100 creates at once; the plugin
// queues them, and before it waited for its turn only within the create's deadline, 11 of 100 failed.)
func TestBursts(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cd-burst"
	nd.Network(t, net)
	burst(t, nd, net, "burst", 100)
}

// burst starts n containers named prefix<n>-<i> at once on net: every start succeeds with its own
// address and every endpoint is built under its labels; then it removes them all and checks that
// nothing of them is left.
func burst(t *testing.T, nd *bed.Node, net, prefix string, n int) {
	t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d-%d", prefix, n, i)
	}
	t.Cleanup(func() { nd.BestEffort(t, append([]string{"rm", "-f"}, names...)...) })
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]string, n)
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := nd.Docker(t, "run", "-d", "--pull", "never", "--init", "--name", name, "-l", "app="+prefix,
				"--net", net, bed.Image, "sleep", "100000")
			if err != nil {
				errs[i] = fmt.Sprintf("%s: %v: %s", name, err, out)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d concurrent docker run: %s; %s", n, time.Since(start).Round(time.Millisecond), createFigures(t, nd))
	var failed []string
	for _, e := range errs {
		if e != "" {
			failed = append(failed, e)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d starts failed, first: %s", len(failed), n, failed[0])
	}
	seen := map[netip.Addr]string{}
	var ips []netip.Addr
	var eids []string
	for _, name := range names {
		ip := nd.ContainerIP(t, name, net)
		if other, dup := seen[ip]; dup {
			t.Fatalf("%s and %s share address %s", name, other, ip)
		}
		seen[ip] = name
		ips, eids = append(ips, ip), append(eids, nd.EndpointID(t, name, net))
	}
	eps := nd.OurEndpoints(t)
	if len(eps) != n {
		t.Fatalf("agent lists %d container endpoints, want %d", len(eps), n)
	}
	for _, ep := range eps {
		if !slices.Contains(bed.IdentityLabels(ep), "container:app="+prefix) {
			t.Fatalf("endpoint %d: labels %v", ep.ID, bed.IdentityLabels(ep))
		}
	}
	start = time.Now()
	nd.Must(t, append([]string{"rm", "-f"}, names...)...)
	t.Logf("rm -f of %d: %s", n, time.Since(start).Round(time.Millisecond))
	// The burst's own endpoints, addresses and links are gone. (Addresses other tests' faults left to
	// the agent's expiration timer are not this test's to count.)
	nd.AssertNoLeak(t, nd.NetworkID(t, net), bed.Leak{Allocs: nd.Allocations(t), Links: nd.Links(t)}, ips, eids)
}

// createFigures says how the node's plugin fared with the agent's endpoint creates: how many, their mean
// time at the agent, and the agent's rate-limit answers.
func createFigures(t *testing.T, nd *bed.Node) string {
	t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(nd.Exec(t, "curl", "-sf", "--max-time", "5", "http://127.0.0.1:9962/metrics"), "\n") {
		if i := strings.LastIndexByte(l, ' '); i > 0 {
			m[l[:i]] = l[i+1:]
		}
	}
	sum, _ := strconv.ParseFloat(m[`cilium_docker_agent_call_duration_seconds_sum{call="create endpoint"}`], 64)
	count, _ := strconv.ParseFloat(m[`cilium_docker_agent_call_duration_seconds_count{call="create endpoint"}`], 64)
	limited := m[`cilium_docker_agent_rate_limited_total{call="create endpoint"}`]
	if limited == "" {
		limited = "0"
	}
	mean := 0.0
	if count > 0 {
		mean = sum / count
	}
	return fmt.Sprintf("the plugin's endpoint creates since it started: %.0f, %.2fs each at the agent on average, %s rate-limited (429)",
		count, mean, limited)
}
