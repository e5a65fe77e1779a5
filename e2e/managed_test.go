package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// managedName is the name scripts/plugin.sh creates the managed plugin under, plugin/config.json's default
// CILIUM_DOCKER_DRIVER_NAME, and the driver name of its networks: Docker registers a managed plugin's
// drivers under its full name only (`--driver cilium-docker` fails with "could not resolve driver
// cilium-docker in registry" on 29.8.1).
const managedName = "cilium-docker:latest"

// managedMetrics is the managed plugin's --metrics-address: the host network is the node's.
const managedMetrics = "127.0.0.1:9962"

// TestManagedPlugin runs the plugin as a Docker managed (v2) plugin on a node without the legacy plugin
// process: installed from the release tarball of the binary under test as README's "Release artifacts"
// says (bed.CreateManagedPlugin: scripts/plugin.sh as `make release` runs it, tar, docker plugin create),
// its mounts pointed at the node's agent and Docker sockets, enabled; then the one-node walkthrough on a network of its driver
// name, a dockerd restart (dockerd starts its managed plugins before its restart-policy containers, so
// they come back at the first try, under the same identities), and disable and remove with nothing left.
// Node 1 is brought down before (the other nodes use its etcd, so everything goes down) and after.
func TestManagedPlugin(t *testing.T) {
	bed.SkipUnlessBed(t)
	bed.DownAll(t)
	t.Cleanup(func() { bed.Down(t, 1) })
	nd := bed.Up(t, 1, bed.WithPluginMode("none"))
	if nd.PluginMode() != "none" {
		t.Fatalf("node 1 env: PLUGIN_MODE=%q, want none", nd.PluginMode())
	}
	legacy := nd.PluginSocket()
	if _, err := os.Lstat(legacy); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("legacy plugin socket %s: %v, want none", legacy, err)
	}
	base := nd.LeakBase(t)

	start := time.Now()
	nd.CreateManagedPlugin(t, managedName)
	t.Logf("plugin created in %s", time.Since(start).Round(10*time.Millisecond))
	t.Cleanup(func() { // after the network's cleanup (cleanups run last-in first-out); the last step removes it
		if _, err := nd.Docker(t, "plugin", "inspect", managedName); err == nil {
			nd.BestEffort(t, "plugin", "disable", "-f", managedName)
			nd.BestEffort(t, "plugin", "rm", "-f", managedName)
		}
	})

	t.Run("created disabled, with plugin/config.json's interfaces, host network and capabilities", func(t *testing.T) {
		p := inspectPlugin(t, nd)
		c := p.Config
		if p.Enabled || p.Name != managedName {
			t.Errorf("plugin %q enabled %v, want %q disabled", p.Name, p.Enabled, managedName)
		}
		if !slices.Equal(c.Interface.Types, []string{"docker.networkdriver/1.0", "docker.ipamdriver/1.0"}) || c.Interface.Socket != "cilium.sock" {
			t.Errorf("interface %+v", c.Interface)
		}
		if c.Network.Type != "host" || !slices.Equal(c.Linux.Capabilities, []string{"CAP_NET_ADMIN"}) {
			t.Errorf("network %q capabilities %v, want host and CAP_NET_ADMIN", c.Network.Type, c.Linux.Capabilities)
		}
	})

	nodeDir := nd.NodeDir()
	setManaged(t, nd)
	start = time.Now()
	nd.Must(t, "plugin", "enable", managedName)
	t.Logf("plugin enabled in %s", time.Since(start).Round(10*time.Millisecond))
	p := inspectPlugin(t, nd)

	t.Run("enabled: both protocols on its own socket, mounts from the node, CAP_NET_ADMIN without CAP_SYS_ADMIN", func(t *testing.T) {
		if !p.Enabled {
			t.Fatalf("plugin not enabled after docker plugin enable")
		}
		sock := nd.ManagedPluginSocket(p.ID, "cilium.sock")
		if got := activate(t, sock); !slices.Contains(got, "NetworkDriver") || !slices.Contains(got, "IpamDriver") {
			t.Errorf("Plugin.Activate on %s: implements %v, want NetworkDriver and IpamDriver", sock, got)
		}
		if _, err := os.Lstat(legacy); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("legacy plugin socket %s appeared: %v", legacy, err)
		}
		mounts := map[string]string{}
		for _, m := range p.Settings.Mounts {
			mounts[m.Destination] = m.Source
		}
		want := map[string]string{"/var/run/cilium": filepath.Join(nodeDir, "cilium-run"), "/var/run/docker.sock": nd.DockerSocket()}
		for dst, src := range want {
			if mounts[dst] != src {
				t.Errorf("mount %s: source %q, want %q (all: %v)", dst, mounts[dst], src, mounts)
			}
		}
		pid := managedPID(t, nd)
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		eff := capEff(t, string(status))
		if eff&(1<<12) == 0 || eff&(1<<21) != 0 {
			t.Errorf("plugin process %d: CapEff %#x, want CAP_NET_ADMIN (bit 12) and not CAP_SYS_ADMIN (bit 21)", pid, eff)
		}
	})

	fam := nd.AgentRange(t)
	net := "cilium-net"
	nd.NetworkOf(t, managedName, net)
	nid := nd.NetworkID(t, net)

	t.Run("network inspect shows the managed plugin as driver and IPAM, the agent router as gateway", func(t *testing.T) {
		out := nd.Must(t, "network", "inspect", "-f", "{{.Driver}} {{.IPAM.Driver}} {{range .IPAM.Config}}{{.Gateway}}{{end}}", net)
		if want := fmt.Sprintf("%s %[1]s %s", managedName, fam.Router); out != want {
			t.Fatalf("network inspect: got %q, want %q", out, want)
		}
	})

	nd.Run(t, "app1", "--restart=always", "-l", "name=app1", "--net", net, bed.Image, "sleep", "100000")
	ep := nd.EndpointOf(t, "app1", net) // read right after docker run returned
	t.Run("endpoint is built under its labels when docker run returns", func(t *testing.T) {
		nd.AssertBuiltAtRun(t, ep, "app1", net, fam.Range)
	})

	app2 := nd.StartPeers(t, net)

	t.Run("a label-selected policy blocks app1 and admits app3, removal restores app1", func(t *testing.T) {
		bed.Enforce(t, nd, nd.PolicyDir(), "app2-from-app3-only.yaml", bed.PolicyOnlyFrom("app2", "app3"), "app1", "app3", app2)
	})

	t.Run("cilium-docker status, given the plugin's name and socket directory, finds it healthy", func(t *testing.T) {
		args := []string{"status", "--driver-name", managedName, "--docker-plugins", "/run/docker/plugins/" + p.ID,
			"--metrics-address", managedMetrics}
		var text string
		bed.Eventually(t, 30*time.Second, "status healthy", func() error {
			var rc int
			var stderr string
			if text, stderr, rc = nd.Command(t, time.Minute, args...); rc != 0 {
				return fmt.Errorf("exit %d:\n%s%s", rc, text, stderr)
			}
			return nil
		})
		for _, want := range []string{"NetworkDriver, IpamDriver", "driver " + managedName + " registered",
			"Network " + net + ":", "IPAM " + managedName + ", 3 containers", "container:name=app1", "Healthy."} {
			if !strings.Contains(text, want) {
				t.Errorf("status lacks %q:\n%s", want, text)
			}
		}
	})

	names := []string{"app1", "app2", "app3"}
	t.Run("after a dockerd restart the restart=always containers are back at the first try, under the same identities", func(t *testing.T) {
		nd.Must(t, "update", "--restart=always", "app2", "app3")
		ids := map[string]int64{}
		for _, name := range names {
			ids[name] = bed.IdentityID(nd.EndpointOf(t, name, net))
		}
		start := time.Now()
		nd.Restart(t, bed.Dockerd)
		t.Logf("dockerd restarted in %s", time.Since(start).Round(10*time.Millisecond))
		bed.Eventually(t, 60*time.Second, "the containers running again, built under their identities", func() error {
			return nd.BackUnder(t, nid, net, ids)
		})
		t.Logf("all %d back %s after the restart began", len(names), time.Since(start).Round(time.Millisecond))
		for _, name := range names {
			// RestartCount 0: dockerd started each once, and it worked (no failed start retried).
			if out := nd.Must(t, "inspect", "-f", "{{.State.Running}} {{.RestartCount}}", name); out != "true 0" {
				t.Errorf("%s: running/restarts %q, want \"true 0\"", name, out)
			}
		}
		if !inspectPlugin(t, nd).Enabled {
			t.Errorf("plugin not enabled after the dockerd restart")
		}
		app2 := nd.ContainerIP(t, "app2", net).String()
		bed.Eventually(t, 10*time.Second, "tcp app1 -> app2 after the restart", func() error { return nd.TCP(t, "app1", app2) })
	})

	t.Run("re-created under the same name (the upgrade path): running containers keep working, a new one joins", func(t *testing.T) {
		nd.Must(t, "plugin", "disable", "-f", managedName)
		nd.Must(t, "plugin", "rm", "-f", managedName)
		app2 := nd.ContainerIP(t, "app2", net).String()
		if err := nd.TCP(t, "app1", app2); err != nil {
			t.Errorf("with the plugin removed (the datapath is the agent's): %v", err)
		}
		nd.CreateManagedPlugin(t, managedName)
		setManaged(t, nd)
		nd.Must(t, "plugin", "enable", managedName)
		p = inspectPlugin(t, nd)
		nd.Run(t, "app4", "-l", "name=app4", "--net", net, bed.Image, "sleep", "100000")
		if ep := nd.EndpointOf(t, "app4", net); !bed.Built(ep) || !bed.HasLabel(bed.IdentityLabels(ep), "container:name=app4") {
			t.Fatalf("a new container after the re-creation: state %q labels %v", bed.State(ep), bed.IdentityLabels(ep))
		}
		bed.Eventually(t, 10*time.Second, "tcp app4 -> app2", func() error { return nd.TCP(t, "app4", app2) })
		// app4 goes with this subtest's cleanup, through the re-created plugin; the last step checks
		// that it left nothing either.
	})

	t.Run("removing containers and network, then disabling and removing the plugin, leaves nothing behind", func(t *testing.T) {
		var eids []string
		var ips []netip.Addr
		for _, name := range names {
			eids = append(eids, nd.EndpointID(t, name, net))
			ips = append(ips, nd.ContainerIP(t, name, net))
		}
		nd.Must(t, append([]string{"rm", "-f"}, names...)...)
		nd.Must(t, "network", "rm", net)
		pid := managedPID(t, nd)
		nd.Must(t, "plugin", "disable", managedName)
		nd.Must(t, "plugin", "rm", managedName)
		if out, err := nd.Docker(t, "plugin", "ls", "-q"); err != nil || out != "" {
			t.Errorf("docker plugin ls after rm: %q %v, want none", out, err)
		}
		bed.Eventually(t, 20*time.Second, "the plugin process gone", func() error {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				return fmt.Errorf("plugin process %d still runs", pid)
			}
			return nil
		})
		if _, err := os.Stat(filepath.Join(nodeDir, "plugins", p.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("plugin socket directory left: %v", err)
		}
		nd.AssertNoLeak(t, nid, base, ips, eids)
		nd.AssertClean(t)
	})
}

// setManaged points the disabled plugin's mounts at the node's agent directory and Docker socket, and
// sets the bed's plugin settings (debug log, the shortest reconcile interval, metrics on the node's loopback).
func setManaged(t *testing.T, nd *bed.Node) {
	t.Helper()
	nd.Must(t, "plugin", "set", managedName,
		"cilium-run.source="+filepath.Join(nd.NodeDir(), "cilium-run"), "docker-sock.source="+nd.DockerSocket(),
		"CILIUM_DOCKER_DEBUG=true", "CILIUM_DOCKER_RECONCILE_INTERVAL=20s", "CILIUM_DOCKER_METRICS_ADDRESS="+managedMetrics)
}

// managedPlugin is the part of `docker plugin inspect` the test reads.
type managedPlugin struct {
	ID      string `json:"Id"`
	Name    string
	Enabled bool
	Config  struct {
		Interface struct {
			Types  []string
			Socket string
		}
		Network struct{ Type string }
		Linux   struct{ Capabilities []string }
	}
	Settings struct {
		Mounts []struct{ Source, Destination string }
		Env    []string
	}
}

func inspectPlugin(t *testing.T, nd *bed.Node) managedPlugin {
	t.Helper()
	var ps []managedPlugin
	if err := json.Unmarshal([]byte(nd.Must(t, "plugin", "inspect", managedName)), &ps); err != nil || len(ps) != 1 {
		t.Fatalf("docker plugin inspect %s: %v (%d)", managedName, err, len(ps))
	}
	return ps[0]
}

// activate posts Plugin.Activate to the plugin socket and returns what it implements.
func activate(t *testing.T, sock string) []string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Post("http://plugin/Plugin.Activate", "application/json", nil)
	if err != nil {
		t.Fatalf("Plugin.Activate on %s: %v", sock, err)
	}
	defer resp.Body.Close()
	var m struct{ Implements []string }
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("Plugin.Activate on %s: %q: %v", sock, b, err)
	}
	return m.Implements
}

// managedPID finds the managed plugin's process: /cilium-docker in the node's network namespace.
func managedPID(t *testing.T, nd *bed.Node) int {
	t.Helper()
	netns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", nd.PID(t, bed.Dockerd)))
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || string(cmd) != "/cilium-docker\x00" {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && ns == netns {
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		t.Fatalf("managed plugin processes in the node's netns: %v, want one", pids)
	}
	return pids[0]
}

// capEff parses the CapEff line of /proc/PID/status.
func capEff(t *testing.T, status string) uint64 {
	t.Helper()
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:\t"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("CapEff %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatalf("no CapEff in /proc status:\n%s", status)
	return 0
}
