package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestPluginAsContainer runs the plugin the way compose/node1.yml deploys it: the image built by
// scripts/image.sh on node 1's dockerd, started by docker-compose as the cilium-docker service (with
// e2e/testdata/compose-testbed.yml pointing the Docker socket at the node's), and walks through one node
// with it: labelled containers ready under their identity, connectivity, the shipped example policy
// enforced, and cleanup without leaks. Node 1 is brought down before (the other nodes use its etcd, so
// everything goes down) and after, so other tests get a node with the plugin as a process.
func TestPluginAsContainer(t *testing.T) {
	bed.SkipUnlessBed(t)
	bed.DownAll(t)
	t.Cleanup(func() { bed.Down(t, 1) })
	start := time.Now()
	nd := bed.Up(t, 1, bed.WithPluginMode("container"))
	t.Logf("node 1 up with the plugin as a container in %s", time.Since(start).Round(10*time.Millisecond))
	if nd.PluginMode() != "container" {
		t.Fatalf("node 1 env: PLUGIN_MODE=%q, want container", nd.PluginMode())
	}

	t.Run("the plugin is the compose service's container with only CAP_NET_ADMIN", func(t *testing.T) {
		var cs []struct {
			Config struct{ Image string }
			State  struct {
				Running bool
				Pid     int
			}
			HostConfig struct {
				NetworkMode     string
				Privileged      bool
				CapAdd, CapDrop []string
				ReadonlyRootfs  bool
				SecurityOpt     []string
				RestartPolicy   struct{ Name string }
			}
			Mounts []struct {
				Source, Destination string
				RW                  bool
			}
		}
		if err := json.Unmarshal([]byte(nd.Must(t, "inspect", "--type", "container", "cilium-docker")), &cs); err != nil || len(cs) != 1 {
			t.Fatalf("docker inspect cilium-docker: %v %d", err, len(cs))
		}
		c := cs[0]
		version, err := exec.Command(bed.PluginBin(), "version").Output()
		if err != nil {
			t.Fatal(err)
		}
		tag := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(version)), "cilium-docker"))
		if want := "cilium-docker:" + tag; c.Config.Image != want || !c.State.Running {
			t.Errorf("container image %q running %v, want %q running", c.Config.Image, c.State.Running, want)
		}
		tags := strings.Fields(nd.Must(t, "images", "cilium-docker", "--format", "{{.Tag}}"))
		for _, w := range []string{tag, "latest"} {
			if !slices.Contains(tags, w) {
				t.Errorf("cilium-docker image tags: %q missing from %q", w, tags)
			}
		}
		h := c.HostConfig
		if h.NetworkMode != "host" || h.Privileged || !slices.Equal(h.CapAdd, []string{"NET_ADMIN"}) ||
			!slices.Equal(h.CapDrop, []string{"ALL"}) || !h.ReadonlyRootfs || h.RestartPolicy.Name != "always" ||
			!slices.Contains(h.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("host config %+v, want compose/node1.yml's", h)
		}
		mounts := map[string]string{}
		for _, m := range c.Mounts {
			mounts[m.Destination] = fmt.Sprintf("%s rw=%v", m.Source, m.RW)
		}
		want := map[string]string{
			"/run/docker/plugins":  "/run/docker/plugins rw=true",
			"/var/run/cilium":      "/var/run/cilium rw=false",
			"/var/run/docker.sock": nd.DockerSocket() + " rw=false",
			"/etc/cilium/policies": nd.PolicyDir() + " rw=true", // the policy sync writes the agent's directory
		}
		if !maps.Equal(mounts, want) {
			t.Errorf("mounts %v, want %v", mounts, want)
		}
		// The kernel's view of the process serving the socket: capabilities (CAP_NET_ADMIN = bit 12)
		// and no_new_privs.
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.State.Pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{"CapEff:\t0000000000001000", "CapBnd:\t0000000000001000", "NoNewPrivs:\t1"} {
			if !strings.Contains(string(status), l+"\n") {
				t.Errorf("plugin process %d: want %q in /proc status:\n%s", c.State.Pid, l, status)
			}
		}
	})

	fam := nd.AgentRange(t)
	net := "cilium-net"
	nd.Network(t, net)
	nd.Run(t, "app1", "-l", "name=app1", "--net", net, bed.Image, "sleep", "100000")
	ep := nd.EndpointOf(t, "app1", net) // read right after docker run returned
	t.Run("endpoint is built under its labels when docker run returns", func(t *testing.T) {
		nd.AssertBuiltAtRun(t, ep, "app1", net, fam.Range)
	})

	app2 := nd.StartPeers(t, net)

	t.Run("the shipped compose/policies example admits app3 and blocks app1", func(t *testing.T) {
		policy, err := os.ReadFile(filepath.Join(bed.RepoRoot(), "compose", "policies", "app2-from-app3.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		bed.Enforce(t, nd, nd.PolicyDir(), "app2-from-app3.yaml", string(policy), "app1", "app3", app2)
	})

	t.Run("removing the containers and the network leaves nothing behind", func(t *testing.T) {
		nd.Must(t, "rm", "-f", "app1", "app2", "app3")
		nd.Must(t, "network", "rm", net)
		nd.AssertClean(t)
		if out := nd.Must(t, "inspect", "-f", "{{.State.Running}} {{.RestartCount}}", "cilium-docker"); out != "true 0" {
			t.Fatalf("plugin container: running/restarts %q, want \"true 0\"", out)
		}
	})
}
