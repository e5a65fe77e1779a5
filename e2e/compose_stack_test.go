package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

// TestComposeStack is the deployment as users run it (issue 18): on each of two bed nodes, the node's own
// dockerd runs compose/node1.yml or node2.yml with `docker compose up -d --wait` (compose v2), from a
// copy of compose/ with its .env and the certificates of `cilium-docker certs`, and the offline images
// under the official names. Then the two-node walkthrough: app1 on node 1 reaches app2 on node 2 over
// VXLAN, and a label policy applied with `cilium-docker policy apply` through the stack's etcd (mutual
// TLS) blocks app1 and admits app3. A container of node 2 without a certificate is refused by etcd. A
// restart of node 2's dockerd brings the stack and the app back under the same identity, and `docker
// compose down` then `up -d` on node 1 keeps the policy (etcd's volume). Teardown leaves no plugin link
// and no container.
// The cluster pool of TestComposeStack's node 2 and the range it claims from it: the first /20 of the
// pool, inside the bed's range for node 2.
const stackPool = "10.72.0.0/14"

var stackRange2 = netip.MustParsePrefix("10.72.0.0/20")

func TestComposeStack(t *testing.T) {
	bed.SkipUnlessBed(t)
	keepAbsent(t, "/lib/modules") // the agent service binds it; docker creates it when the kernel has none
	bed.DownAll(t)
	t.Cleanup(func() { bed.DownAll(t) }) // runs before keepAbsent's cleanup

	start := time.Now()
	n1 := bed.Up(t, 1, bed.WithPluginMode("stack"))
	n2 := bed.Up(t, 2, bed.WithPluginMode("stack"))
	pki := bed.NewPKI(t)
	// Node 1's range hand-set (POD_RANGE, the bed's), node 2's from the cluster pool (POD_POOL): its first
	// /20, inside the bed's range for node 2.
	s1 := n1.NewStack(t, pki, []string{n1.IP()}, nil)
	s2 := n2.NewStack(t, pki, []string{n1.IP()}, map[string]string{"POD_RANGE": "", "POD_POOL": stackPool})
	for _, s := range []*bed.Stack{s1, s2} {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s:\n%s", s.File, s.Logs(t, 60))
			}
		})
	}
	bed.LoadStackImagesOn(t, n1, n2)
	// Node 2 starts first, while the cluster's etcd (node 1's) is not there: its `up` waits in the ranges
	// service (claim --wait) until node 1's comes up, and its stack converges by itself.
	up2 := s2.ComposeAsync(t, 8*time.Minute, "up", "-d")
	s1.Up(t)
	if out, err := up2(); err != nil {
		t.Fatalf("node 2: docker compose up -d: %v\n%s", err, out)
	}
	bed.Eventually(t, 4*time.Minute, "node 2's stack healthy once node 1's etcd is up", func() error { return healthy(t, s2) })
	t.Logf("leg %s: two nodes with their stacks up in %s", n1.Leg, time.Since(start).Round(100*time.Millisecond))

	t.Run("the plugin is the compose service's container with only CAP_NET_ADMIN", func(t *testing.T) {
		assertPluginContainer(t, n1)
	})
	t.Run("the agent's container is not privileged: the chart's capabilities less SYS_RESOURCE, its memlock limit", func(t *testing.T) {
		assertAgentContainer(t, n1, s1)
		assertAgentContainer(t, n2, s2)
	})

	t.Run("a live node keeps its range: node remove is refused while its agent is registered, with no endpoint", func(t *testing.T) {
		// No container yet, and the stack turns the health endpoint off: only the agent's node key
		// (cilium/state/nodes/v1/<cluster>/<node>) shows node 2 is alive.
		out, err := n1.Docker(t, "exec", "cilium-docker", "/cilium-docker", "node", "remove", n2.NodeName())
		if err == nil || !strings.Contains(out, "its cilium-agent is registered") {
			t.Fatalf("node remove %s of a running node: %v, want refused as registered:\n%s", n2.NodeName(), err, out)
		}
	})

	net := "cilium-net"
	for _, nd := range []*bed.Node{n1, n2} {
		nd.Must(t, "network", "create", "--driver", "cilium", "--ipam-driver", "cilium", net)
	}
	n1.Must(t, "run", "-d", "--pull", "never", "--init", "--restart", "always", "--name", "app1", "-l", "name=app1", "--net", net, bed.Image, "sleep", "100000")
	n1.Must(t, "run", "-d", "--pull", "never", "--init", "--restart", "always", "--name", "app3", "-l", "name=app3", "--net", net, bed.Image, "sleep", "100000")
	n2.Must(t, "run", "-d", "--pull", "never", "--init", "--restart", "always", "--name", "app2", "-l", "name=app2", "--net", net, bed.Image, "sh", "-c", server)
	app2 := n2.ContainerIP(t, "app2", net).String()

	t.Run("each node's range is its claim in etcd: node 1's hand-set, node 2's from the pool", func(t *testing.T) {
		out := n1.Must(t, "exec", "cilium-docker", "/cilium-docker", "node", "list")
		row := func(name string, r netip.Prefix, kind string) *regexp.Regexp {
			return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+` + regexp.QuoteMeta(r.String()) + `\s+-\s+` + kind + `\s`)
		}
		if !strings.Contains(out, "pool: "+stackPool+" (/20 per node)") || !row(n1.NodeName(), n1.PodRange(), "hand-set").MatchString(out) ||
			!row(n2.NodeName(), stackRange2, "pool").MatchString(out) {
			t.Errorf("node list: want the pool %s, node 1 hand-set %s and node 2 from the pool %s:\n%s", stackPool, n1.PodRange(), stackRange2, out)
		}
		if ip := n2.ContainerIP(t, "app2", net); !stackRange2.Contains(ip) {
			t.Errorf("app2 on node 2 has %s, outside node 2's claim %s", ip, stackRange2)
		}
		if ip := n1.ContainerIP(t, "app1", net); !n1.PodRange().Contains(ip) {
			t.Errorf("app1 on node 1 has %s, outside node 1's range %s", ip, n1.PodRange())
		}
	})

	// compose/README.md's walkthrough, steps 4 and 6.
	t.Run("app3 on node 1 reaches app2 on node 2 over VXLAN; the shipped policies/ file blocks app1", func(t *testing.T) {
		n1.Must(t, "exec", "app3", "ping", "-c", "1", "-W", "2", app2)
		bed.Eventually(t, 30*time.Second, "app3 -> app2 across nodes", func() error { return n1.TCP(t, "app3", app2) })
		bed.Eventually(t, 30*time.Second, "app1 blocked by policies/app2-from-app3.yaml", func() error { return n1.Blocked(t, "app1", app2) })
	})

	t.Run("the policy moved into etcd with policy apply blocks app1 and admits app3", func(t *testing.T) {
		for _, s := range []*bed.Stack{s1, s2} {
			if err := os.Remove(filepath.Join(s.PolicyDir(), "app2-from-app3.yaml")); err != nil {
				t.Fatal(err)
			}
		}
		bed.Eventually(t, 30*time.Second, "app1 reaches app2 once no policy selects it", func() error { return n1.TCP(t, "app1", app2) })
		example := filepath.Join(bed.RepoRoot(), "compose", "policy-examples", "app2-from-app3.json")
		if out, rc := s1.Policy(t, example, "check", "-"); rc != 0 || !strings.Contains(out, "app2-from-app3") {
			t.Fatalf("policy check - < %s: exit %d\n%s", example, rc, out)
		}
		if out, rc := s1.Policy(t, example, "apply", "-"); rc != 0 || !strings.Contains(out, "app2-from-app3 revision") {
			t.Fatalf("policy apply - < %s: exit %d\n%s", example, rc, out)
		}
		bed.Eventually(t, 30*time.Second, "app1 blocked", func() error { return n1.Blocked(t, "app1", app2) })
		bed.Eventually(t, 30*time.Second, "app3 admitted", func() error { return n1.TCP(t, "app3", app2) })
		bed.Eventually(t, 30*time.Second, "policy list shows both nodes at the revision", func() error {
			out, rc := s2.Policy(t, "", "list")
			if rc != 0 || !strings.Contains(out, n1.NodeName()+"=") || !strings.Contains(out, n2.NodeName()+"=") {
				return fmt.Errorf("policy list: exit %d\n%s", rc, out)
			}
			return nil
		})
	})

	t.Run("a container without a certificate is refused by etcd", func(t *testing.T) {
		etcdImage := "quay.io/coreos/etcd:v" + matrix.Etcd
		url := bed.EtcdURL(n1.IP())
		// The control: the same container with the policy commands' certificate reaches and reads etcd,
		// so the refusals below are etcd's, not the network's.
		certs := s2.Env["CILIUM_DOCKER_PKI"] + "/" + n2.NodeName()
		n2.Must(t, "run", "--rm", "--pull", "never", "--net", "bridge", "-v", certs+":/certs:ro", etcdImage, "etcdctl",
			"--endpoints", url, "--dial-timeout", "3s", "--command-timeout", "5s", "--cacert", "/certs/ca.crt",
			"--cert", "/certs/cilium-docker-policy.crt", "--key", "/certs/cilium-docker-policy.key", "get", "--prefix", "--keys-only", "cilium-docker/")
		// The three refusals at once: each waits out its own dial and command timeouts.
		refused := [][]string{
			{"--insecure-transport=false", "--insecure-skip-tls-verify", "put", "cilium/state/intruder", "x"},
			{"--insecure-transport=false", "--insecure-skip-tls-verify", "get", "--prefix", "cilium/"},
			{"--insecure-transport=false", "--insecure-skip-tls-verify", "del", "--prefix", "cilium-docker/"},
		}
		outs, errs := make([]string, len(refused)), make([]error, len(refused))
		var wg sync.WaitGroup
		for i, args := range refused {
			wg.Add(1)
			go func() {
				defer wg.Done()
				argv := append([]string{"run", "--rm", "--pull", "never", "--net", "bridge", etcdImage, "etcdctl",
					"--endpoints", url, "--dial-timeout", "3s", "--command-timeout", "5s"}, args...)
				outs[i], errs[i] = n2.Docker(t, argv...)
			}()
		}
		wg.Wait()
		for i, args := range refused {
			if errs[i] == nil {
				t.Fatalf("etcdctl %s from node 2's default bridge without a certificate succeeded:\n%s", strings.Join(args, " "), outs[i])
			}
			t.Logf("etcdctl %s without a certificate: %v: %s", args[2], errs[i], lastLines(outs[i], 1))
		}
		// Plain HTTP, as the unsecured stack took it.
		out, err := n2.Docker(t, "run", "--rm", "--pull", "never", "--net", "bridge", bed.Image, "wget", "-q", "-T", "3", "-O", "-",
			"--post-data", `{"key":"Zm9v","value":"YmFy"}`, "http://"+n1.IP()+":2379/v3/kv/put")
		if err == nil {
			t.Fatalf("plain HTTP put from node 2's default bridge was answered: %s", out)
		}
		// Nothing changed: the policy is still the only one, and still enforced.
		if out, rc := s1.Policy(t, "", "list"); rc != 0 || strings.Contains(out, "intruder") || !strings.Contains(out, "app2-from-app3") {
			t.Fatalf("policy list after the refused writes: exit %d\n%s", rc, out)
		}
		bed.Eventually(t, 10*time.Second, "app1 still blocked", func() error { return n1.Blocked(t, "app1", app2) })
	})

	t.Run("dockerd restart on node 2: the stack and app2 come back under the same identity", func(t *testing.T) {
		id := bed.IdentityID(n2.EndpointOf(t, "app2", net))
		n2.Restart(t, bed.Dockerd)
		bed.Eventually(t, 3*time.Minute, "node 2's stack healthy again", func() error { return healthy(t, s2) })
		bed.Eventually(t, 2*time.Minute, "app2 back under its identity", func() error {
			ep := n2.EndpointOf(t, "app2", net)
			if got := bed.IdentityID(ep); got != id || !bed.Built(ep) {
				return fmt.Errorf("app2: identity %d (want %d), state %s", got, id, bed.State(ep))
			}
			return nil
		})
		app2 = n2.ContainerIP(t, "app2", net).String()
		bed.Eventually(t, time.Minute, "app3 admitted after the restart", func() error { return n1.TCP(t, "app3", app2) })
		bed.Eventually(t, 30*time.Second, "app1 blocked after the restart", func() error { return n1.Blocked(t, "app1", app2) })
	})

	t.Run("docker compose down and up -d on node 1 keeps the policy", func(t *testing.T) {
		for _, c := range []string{"app1", "app3"} {
			n1.Must(t, "rm", "-f", c)
		}
		n1.Must(t, "network", "rm", net)
		s1.Down(t)
		s1.Up(t)
		out, rc := s1.Policy(t, "", "list")
		if rc != 0 || !strings.Contains(out, "app2-from-app3") {
			t.Fatalf("policy list after down/up: exit %d\n%s", rc, out)
		}
		n1.Must(t, "network", "create", "--driver", "cilium", "--ipam-driver", "cilium", net)
		n1.Must(t, "run", "-d", "--pull", "never", "--init", "--name", "app1", "-l", "name=app1", "--net", net, bed.Image, "sleep", "100000")
		n1.Must(t, "run", "-d", "--pull", "never", "--init", "--name", "app3", "-l", "name=app3", "--net", net, bed.Image, "sleep", "100000")
		bed.Eventually(t, time.Minute, "app3 admitted", func() error { return n1.TCP(t, "app3", app2) })
		bed.Eventually(t, 30*time.Second, "app1 blocked", func() error { return n1.Blocked(t, "app1", app2) })
	})

	t.Run("teardown leaves no container, plugin link or socket", func(t *testing.T) {
		for _, nd := range []*bed.Node{n1, n2} {
			for _, c := range []string{"app1", "app2", "app3"} {
				nd.BestEffort(t, "rm", "-f", c)
			}
			nd.Must(t, "network", "rm", net)
		}
		s2.Down(t)
		s1.Down(t)
		for _, nd := range []*bed.Node{n1, n2} {
			if out := nd.Must(t, "ps", "-aq"); out != "" {
				t.Errorf("node %d: containers left: %s", nd.N, out)
			}
			for _, l := range strings.Split(nd.Exec(t, "ip", "-o", "link", "show"), "\n") {
				if strings.Contains(l, ": lxc") && !strings.Contains(l, "lxc_health") || strings.Contains(l, ": tmp") {
					t.Errorf("node %d: link left: %s", nd.N, l)
				}
			}
			if _, err := os.Stat(nd.PluginSocket()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("node %d: plugin socket %s left: %v", nd.N, nd.PluginSocket(), err)
			}
		}
	})
}

// assertPluginContainer checks the plugin's container as compose/node1.yml deploys it: the image of the
// binary under test, host network, not privileged, CAP_NET_ADMIN only (in the kernel's view of its
// process too), read-only root, no-new-privileges, restart always, and its mounts.
func assertPluginContainer(t *testing.T, nd *bed.Node) {
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
			Destination string
			RW          bool
		}
	}
	if err := json.Unmarshal([]byte(nd.Must(t, "inspect", "--type", "container", "cilium-docker")), &cs); err != nil || len(cs) != 1 {
		t.Fatalf("docker inspect cilium-docker: %v %d", err, len(cs))
	}
	c := cs[0]
	if c.Config.Image != "cilium-docker:latest" || !c.State.Running {
		t.Errorf("container image %q running %v, want cilium-docker:latest running", c.Config.Image, c.State.Running)
	}
	h := c.HostConfig
	// compose v2 writes CAP_NET_ADMIN, 1.29 wrote NET_ADMIN: the same capability.
	capAdd := slices.Clone(h.CapAdd)
	for i := range capAdd {
		capAdd[i] = strings.TrimPrefix(capAdd[i], "CAP_")
	}
	if h.NetworkMode != "host" || h.Privileged || !slices.Equal(capAdd, []string{"NET_ADMIN"}) ||
		!slices.Equal(h.CapDrop, []string{"ALL"}) || !h.ReadonlyRootfs || h.RestartPolicy.Name != "always" ||
		!slices.Contains(h.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("host config %+v, want compose/node1.yml's", h)
	}
	mounts := map[string]bool{}
	for _, m := range c.Mounts {
		mounts[m.Destination] = m.RW
	}
	want := map[string]bool{"/run/docker/plugins": true, "/var/run/cilium": false, "/var/run/docker.sock": false,
		"/etc/cilium/policies": true, "/etc/cilium-docker/etcd": false}
	if !maps.Equal(mounts, want) {
		t.Errorf("mounts (destination: read-write) %v, want %v", mounts, want)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.State.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"CapEff:\t0000000000001000", "CapBnd:\t0000000000001000", "NoNewPrivs:\t1"} {
		if !strings.Contains(string(status), l+"\n") {
			t.Errorf("plugin process %d: want %q in /proc status:\n%s", c.State.Pid, l, status)
		}
	}
}

// agentCapBits are the agent container's capabilities (compose/node1.yml's cap_add; deploy's agentCaps
// holds the list against the compose files) by their bit in the kernel's sets (linux/capability.h).
var agentCapBits = map[string]uint{"CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "KILL": 5, "SETGID": 6, "SETUID": 7,
	"NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "SYS_MODULE": 16, "SYS_ADMIN": 21, "SYSLOG": 34}

// capSysResource is CAP_SYS_RESOURCE's bit: the one capability of Cilium's chart the agent goes without.
const capSysResource = 24

// assertAgentContainer checks the agent container of node nd's stack s as compose/node1.yml deploys it: running,
// not privileged, every capability dropped but agentCapBits (in the kernel's view of its process too:
// bounding and effective set, so no CAP_SYS_RESOURCE), the memlock limit dockerd sets in place of that
// capability (unlimited, or .env's CILIUM_AGENT_MEMLOCK where the bed's dockerd cannot raise it), AppArmor
// and seccomp unconfined.
func assertAgentContainer(t *testing.T, nd *bed.Node, s *bed.Stack) {
	var cs []struct {
		State struct {
			Running bool
			Pid     int
		}
		HostConfig struct {
			Privileged      bool
			CapAdd, CapDrop []string
			SecurityOpt     []string
			Ulimits         []struct {
				Name       string
				Soft, Hard int64
			}
		}
	}
	if err := json.Unmarshal([]byte(nd.Must(t, "inspect", "--type", "container", "cilium-agent")), &cs); err != nil || len(cs) != 1 {
		t.Fatalf("node %d: docker inspect cilium-agent: %v %d", nd.N, err, len(cs))
	}
	c := cs[0]
	h := c.HostConfig
	capAdd := make([]string, 0, len(h.CapAdd))
	for _, name := range h.CapAdd {
		capAdd = append(capAdd, strings.TrimPrefix(name, "CAP_"))
	}
	slices.Sort(capAdd)
	if want := slices.Sorted(maps.Keys(agentCapBits)); !c.State.Running || h.Privileged || !slices.Equal(capAdd, want) ||
		!slices.Equal(h.CapDrop, []string{"ALL"}) {
		t.Errorf("node %d: agent running %v, privileged %v, cap_add %v, cap_drop %v; want running, not privileged, cap_add %v, cap_drop [ALL]",
			nd.N, c.State.Running, h.Privileged, capAdd, h.CapDrop, want)
	}
	for _, o := range []string{"apparmor:unconfined", "seccomp:unconfined"} {
		if !slices.Contains(h.SecurityOpt, o) {
			t.Errorf("node %d: agent security_opt %v, want %s", nd.N, h.SecurityOpt, o)
		}
	}
	memlock, limit := int64(-1), "unlimited"
	if v := s.Env["CILIUM_AGENT_MEMLOCK"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("CILIUM_AGENT_MEMLOCK %q: %v", v, err)
		}
		memlock, limit = n, v
		t.Logf("node %d: the bed's dockerd cannot raise the memlock limit (no CAP_SYS_RESOURCE): the agent's is %s bytes", nd.N, v)
	}
	if len(h.Ulimits) != 1 || h.Ulimits[0].Name != "memlock" || h.Ulimits[0].Soft != memlock || h.Ulimits[0].Hard != memlock {
		t.Errorf("node %d: agent ulimits %+v, want memlock %d:%d", nd.N, h.Ulimits, memlock, memlock)
	}
	var mask uint64
	for _, bit := range agentCapBits {
		mask |= 1 << bit
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.State.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"CapBnd", "CapEff"} {
		if l := fmt.Sprintf("%s:\t%016x\n", set, mask); !strings.Contains(string(status), l) {
			t.Errorf("node %d: agent process %d: want %q (no CAP_SYS_RESOURCE, bit %d) in /proc status:\n%s",
				nd.N, c.State.Pid, strings.TrimSpace(l), capSysResource, status)
		}
	}
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", c.State.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^Max locked memory\s+` + limit + `\s+` + limit + `\s`).Match(limits) {
		t.Errorf("node %d: agent process %d: memlock not %s:\n%s", nd.N, c.State.Pid, limit, limits)
	}
}

// healthy is nil when every service of the stack is running and healthy.
func healthy(t *testing.T, s *bed.Stack) error {
	out, err := s.Compose(t, time.Minute, "ps", "--all", "--format", "{{.Service}} {{.State}} {{.ExitCode}} {{.Health}}")
	if err != nil {
		return fmt.Errorf("compose ps: %w: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "ranges" { // the one-shot: done, with exit 0
			if len(f) != 3 || f[1] != "exited" || f[2] != "0" {
				return fmt.Errorf("ranges not done: %q", l)
			}
			continue
		}
		if len(f) != 4 || f[1] != "running" || f[3] != "healthy" {
			return fmt.Errorf("not healthy: %q", l)
		}
	}
	return nil
}

// keepAbsent removes path at the end of the test if it did not exist before it.
func keepAbsent(t *testing.T, path string) {
	if _, err := os.Stat(path); err == nil {
		return
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("remove %s the test created: %v", path, err)
		}
	})
}
