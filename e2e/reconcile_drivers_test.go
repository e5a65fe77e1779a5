package e2e

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// besideMetrics is the managed plugin's --metrics-address in TestReconcilerKeepsOtherDriverNames: the
// process plugin beside it serves 127.0.0.1:9962 in the same (host) network.
const besideMetrics = "127.0.0.1:9963"

// reconcilerPasses reads the complete reconciler passes from the /metrics of the plugin at addr on the
// node's loopback.
func reconcilerPasses(nd *bed.Node, addr string) (int, error) {
	out, err := nd.TryExec(10*time.Second, "curl", "-sf", "--max-time", "5", "http://"+addr+"/metrics")
	if err != nil {
		return 0, fmt.Errorf("curl %s/metrics: %w", addr, err)
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "cilium_docker_reconciler_passes_total "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("%s/metrics: no cilium_docker_reconciler_passes_total", addr)
}

// kept says what of container name's state (agent endpoint, host link, address) is gone.
func kept(t *testing.T, nd *bed.Node, name, eid string, ip netip.Addr) []string {
	t.Helper()
	var lost []string
	if bed.ByDockerEndpoint(nd.OurEndpoints(t), eid) == nil {
		lost = append(lost, name+": agent endpoint")
	}
	if n := bed.NamesOf(t, eid); !nd.Links(t)[n.Host] {
		lost = append(lost, name+": link "+n.Host)
	}
	if _, ok := nd.Allocations(t)[ip.String()]; !ok {
		lost = append(lost, name+": address "+ip.String())
	}
	return lost
}

// TestReconcilerKeepsOtherDriverNames runs two instances of the plugin on one node, as a switch between
// the process (or compose, or systemd) plugin and the managed plugin does: the bed's process plugin as
// "cilium" with a container on its network, then the managed plugin as "cilium-docker:latest" beside it
// with a container on a network of its own. Agent endpoints, links and the address owner look the same
// for both, so each one's reconciler sees the other's container. After three complete passes of each
// (the bed's 20 s interval), both containers keep their agent endpoint, link and address, still ping
// each other, and neither plugin logged a removal of them.
func TestReconcilerKeepsOtherDriverNames(t *testing.T) {
	nd := bed.Up(t, 1)
	if nd.PluginMode() != "process" {
		t.Logf("node 1 runs the plugin as %q: bringing the bed down for the process plugin", nd.PluginMode())
		bed.DownAll(t)
		nd = bed.Up(t, 1)
	}
	procLog, dockerdLog := nd.LogSize(t, bed.Plugin), nd.LogSize(t, bed.Dockerd)

	procNet, managedNet := "cd-proc", "cd-managed"
	nd.Network(t, procNet)
	nd.Run(t, "byproc", "-l", "name=byproc", "--net", procNet, bed.Image, "sleep", "100000")

	nd.CreateManagedPlugin(t, managedName)
	t.Cleanup(func() { // after the managed network's and container's cleanups (last-in first-out)
		if _, err := nd.Docker(t, "plugin", "inspect", managedName); err == nil {
			nd.BestEffort(t, "plugin", "disable", "-f", managedName)
			nd.BestEffort(t, "plugin", "rm", "-f", managedName)
		}
	})
	nd.Must(t, "plugin", "set", managedName,
		"cilium-run.source="+filepath.Join(nd.NodeDir(), "cilium-run"), "docker-sock.source="+nd.DockerSocket(),
		"CILIUM_DOCKER_DEBUG=true", "CILIUM_DOCKER_RECONCILE_INTERVAL=20s", "CILIUM_DOCKER_METRICS_ADDRESS="+besideMetrics)
	nd.Must(t, "plugin", "enable", managedName)
	nd.NetworkOf(t, managedName, managedNet)
	nd.Run(t, "bymanaged", "-l", "name=bymanaged", "--net", managedNet, bed.Image, "sleep", "100000")

	type ctr struct {
		name, net, eid string
		ip             netip.Addr
	}
	ctrs := []ctr{{name: "byproc", net: procNet}, {name: "bymanaged", net: managedNet}}
	for i := range ctrs {
		c := &ctrs[i]
		c.eid, c.ip = nd.EndpointID(t, c.name, c.net), nd.ContainerIP(t, c.name, c.net)
		// The agent's allocation list is refreshed every 5 s.
		bed.Eventually(t, 15*time.Second, c.name+"'s agent endpoint, link and address", func() error {
			if lost := kept(t, nd, c.name, c.eid, c.ip); len(lost) > 0 {
				return fmt.Errorf("%v missing", lost)
			}
			return nil
		})
	}
	ping := func(from, to ctr) error {
		out, err := nd.Docker(t, "exec", from.name, "ping", "-c", "1", "-W", "2", to.ip.String())
		if err != nil {
			return fmt.Errorf("ping %s -> %s (%s): %w: %s", from.name, to.name, to.ip, err, out)
		}
		return nil
	}
	bed.Eventually(t, 20*time.Second, "the two containers ping each other", func() error {
		if err := ping(ctrs[0], ctrs[1]); err != nil {
			return err
		}
		return ping(ctrs[1], ctrs[0])
	})

	// Three complete passes of each reconciler, every one read after both containers ran: the count
	// must rise by four, for the third pass to have finished its removals when the fourth starts.
	plugins := map[string]string{"process plugin (cilium)": "127.0.0.1:9962", "managed plugin (" + managedName + ")": besideMetrics}
	base := map[string]int{}
	bed.Eventually(t, 30*time.Second, "both plugins' reconciler metrics", func() error {
		for name, addr := range plugins {
			n, err := reconcilerPasses(nd, addr)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			base[name] = n
		}
		return nil
	})
	start := time.Now()
	seen := maps.Clone(base)
	bed.Eventually(t, 3*time.Minute, "four more complete passes of each reconciler", func() error {
		var short []string
		for name, addr := range plugins {
			n, err := reconcilerPasses(nd, addr)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if n != seen[name] { // a pass began: the one before it has done its removals; fail at once
				seen[name] = n
				for _, c := range ctrs {
					if lost := kept(t, nd, c.name, c.eid, c.ip); len(lost) > 0 {
						t.Fatalf("after %d complete passes of the %s: %v removed", n-base[name], name, lost)
					}
				}
			}
			if n < base[name]+4 {
				short = append(short, fmt.Sprintf("%s: %d", name, n-base[name]))
			}
		}
		if len(short) > 0 {
			return fmt.Errorf("complete passes since both containers ran, want 4 each: %v", short)
		}
		return nil
	})
	t.Logf("both reconcilers ran 4 more complete passes in %s", time.Since(start).Round(time.Second))

	for _, c := range ctrs {
		if lost := kept(t, nd, c.name, c.eid, c.ip); len(lost) > 0 {
			t.Errorf("after three passes of each reconciler: %v removed", lost)
		}
	}
	for _, pair := range [][2]ctr{{ctrs[0], ctrs[1]}, {ctrs[1], ctrs[0]}} {
		if err := ping(pair[0], pair[1]); err != nil {
			t.Errorf("after three passes of each reconciler: %v", err)
		}
	}
	// The managed plugin logs through dockerd.
	for what, log := range map[string]string{"process plugin": nd.LogSince(t, bed.Plugin, procLog),
		"dockerd (the managed plugin)": nd.LogSince(t, bed.Dockerd, dockerdLog)} {
		for _, l := range strings.Split(log, "\n") {
			if !strings.Contains(l, "no Docker endpoint") { // every removal line of the reconciler says so
				continue
			}
			for _, c := range ctrs {
				if strings.Contains(l, c.eid) || strings.Contains(l, bed.NamesOf(t, c.eid).Host) || strings.Contains(l+" ", "ip="+c.ip.String()+" ") {
					t.Errorf("%s logged a removal of %s's state: %s", what, c.name, l)
				}
			}
		}
	}
}
