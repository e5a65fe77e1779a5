package deploy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// composeConfig runs `docker-compose config` on compose/<file> with compose/.env.example and returns the
// resolved project. DOCKER_HOST points nowhere: `config` must not need a Docker engine.
func composeConfig(t *testing.T, file string) map[string]any {
	t.Helper()
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Skip("docker-compose not installed (scripts/install-deps.sh installs Debian's)")
	}
	root := repoRoot()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker-compose", "--env-file", filepath.Join(root, "compose", ".env.example"),
		"-f", filepath.Join(root, "compose", file), "config")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DOCKER_HOST=unix:///nonexistent/docker.sock"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker-compose -f %s config: %v\n%s", file, err, stderr.String())
	}
	// An unset variable is only a warning ("The X variable is not set. Defaulting to a blank string.").
	if strings.Contains(stderr.String(), "not set") {
		t.Fatalf("docker-compose -f %s config with .env.example: %s", file, stderr.String())
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(stdout.Bytes(), &cfg); err != nil {
		t.Fatalf("decode docker-compose config output: %v\n%s", err, stdout.String())
	}
	return cfg
}

// envExample reads compose/.env.example.
func envExample(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(), "compose", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	return env
}

func service(t *testing.T, cfg map[string]any, name string) map[string]any {
	t.Helper()
	svcs, _ := cfg["services"].(map[string]any)
	svc, ok := svcs[name].(map[string]any)
	if !ok {
		t.Fatalf("no service %q in %v", name, slices.Sorted(maps.Keys(svcs)))
	}
	return svc
}

// strs returns a list field of a service as strings.
func strs(svc map[string]any, key string) []string {
	l, _ := svc[key].([]any)
	out := make([]string, 0, len(l))
	for _, v := range l {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func wantField(t *testing.T, svcName string, svc map[string]any, key string, want any) {
	t.Helper()
	if got := svc[key]; !reflect.DeepEqual(got, want) {
		t.Errorf("service %s: %s = %#v, want %#v", svcName, key, got, want)
	}
}

func wantAll(t *testing.T, what string, got, want []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: %q missing from %q", what, w, got)
		}
	}
}

// flagNames returns the names of the --flags in args ("--a=b", "--c" -> a, c), sorted.
func flagNames(args []string) []string {
	var names []string
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// TestComposeFilesValid resolves compose/node1.yml and node2.yml with compose/.env.example and checks
// what users deploy: the images, the host network, the mounts, the plugin's capabilities, the
// node-specific agent flags, and that node2.yml is node1.yml without etcd. No Docker engine needed.
func TestComposeFilesValid(t *testing.T) {
	env := envExample(t)
	for _, k := range []string{"NODE_NAME", "NODE_IP", "NODE_DEVICE", "POD_RANGE", "ETCD_ADDRESS"} {
		if env[k] == "" {
			t.Errorf("compose/.env.example does not set %s", k)
		}
	}
	root := repoRoot()
	node1 := composeConfig(t, "node1.yml")
	node2 := composeConfig(t, "node2.yml")

	t.Run("node1.yml services", func(t *testing.T) {
		svcs := slices.Sorted(maps.Keys(node1["services"].(map[string]any)))
		if want := []string{"cilium-agent", "cilium-docker", "etcd"}; !slices.Equal(svcs, want) {
			t.Fatalf("services %v, want %v", svcs, want)
		}
		for _, name := range svcs {
			svc := service(t, node1, name)
			wantField(t, name, svc, "network_mode", "host")
			wantField(t, name, svc, "restart", "always")
			wantField(t, name, svc, "container_name", map[string]string{
				"etcd": "cilium-etcd", "cilium-agent": "cilium-agent", "cilium-docker": "cilium-docker"}[name])
		}
		etcd := service(t, node1, "etcd")
		if img := fmt.Sprint(etcd["image"]); !strings.HasPrefix(img, "quay.io/coreos/etcd:v3.5.") {
			t.Errorf("etcd image %q, want quay.io/coreos/etcd:v3.5.x", img)
		}
		wantAll(t, "etcd command", strs(etcd, "command"), []string{
			"--listen-client-urls=http://127.0.0.1:2379,http://" + env["NODE_IP"] + ":2379",
			"--advertise-client-urls=http://" + env["NODE_IP"] + ":2379",
		})
		if want := "http://" + env["NODE_IP"] + ":2379"; env["ETCD_ADDRESS"] != want {
			t.Errorf(".env.example: ETCD_ADDRESS %q, want node 1's etcd %q", env["ETCD_ADDRESS"], want)
		}
	})

	t.Run("cilium-agent service", func(t *testing.T) {
		agent := service(t, node1, "cilium-agent")
		wantField(t, "cilium-agent", agent, "image", "quay.io/cilium/cilium:v1.20.2")
		wantField(t, "cilium-agent", agent, "privileged", true)
		wantField(t, "cilium-agent", agent, "environment", map[string]any{"K8S_NODE_NAME": env["NODE_NAME"]})
		wantAll(t, "cilium-agent volumes", strs(agent, "volumes"), []string{
			"/sys/fs/bpf:/sys/fs/bpf:rw",
			"/sys/fs/cgroup:/host/sys/fs/cgroup:rw",
			"/var/run/cilium:/var/run/cilium:rw",
			"/lib/modules:/lib/modules:ro",
			"/run/xtables.lock:/run/xtables.lock:rw",
			filepath.Join(root, "compose", "agent-config") + ":/etc/cilium/agent-config:ro",
			filepath.Join(root, "compose", "policies") + ":/etc/cilium/policies:ro",
		})
		cmd := strs(agent, "command")
		if len(cmd) == 0 || cmd[0] != "cilium-agent" {
			t.Fatalf("cilium-agent command %q does not start with cilium-agent", cmd)
		}
		wantAll(t, "cilium-agent command", cmd, []string{
			"--config-dir=/etc/cilium/agent-config",
			"--static-cnp-path=/etc/cilium/policies",
			"--cgroup-root=/host/sys/fs/cgroup",
			"--ipv4-node=" + env["NODE_IP"],
			"--ipv4-range=" + env["POD_RANGE"],
			"--devices=" + env["NODE_DEVICE"],
			"--kvstore-opt=etcd.address=" + env["ETCD_ADDRESS"],
		})
		if names := flagNames(cmd); len(names) != len(slices.Compact(slices.Clone(names))) {
			t.Errorf("cilium-agent command repeats a flag: %v", names)
		}
	})

	t.Run("cilium-docker service", func(t *testing.T) {
		plugin := service(t, node1, "cilium-docker")
		wantField(t, "cilium-docker", plugin, "image", "cilium-docker:latest")
		if _, ok := plugin["privileged"]; ok {
			t.Errorf("cilium-docker must not be privileged: %v", plugin["privileged"])
		}
		wantField(t, "cilium-docker", plugin, "cap_add", []any{"NET_ADMIN"})
		wantField(t, "cilium-docker", plugin, "cap_drop", []any{"ALL"})
		wantField(t, "cilium-docker", plugin, "read_only", true)
		wantField(t, "cilium-docker", plugin, "security_opt", []any{"no-new-privileges:true"})
		vols := strs(plugin, "volumes")
		sort.Strings(vols)
		want := []string{
			"/run/docker/plugins:/run/docker/plugins:rw",
			"/var/run/cilium:/var/run/cilium:ro",
			"/var/run/docker.sock:/var/run/docker.sock:ro",
			filepath.Join(root, "compose", "policies") + ":/etc/cilium/policies:rw",
		}
		sort.Strings(want) // the checkout's own path sorts anywhere among the others
		if !slices.Equal(vols, want) {
			t.Errorf("cilium-docker volumes %q, want %q", vols, want)
		}
		if _, ok := plugin["command"]; ok {
			t.Errorf("cilium-docker command %v: the defaults match the mounts, keep the image's", plugin["command"])
		}
		// One environment block (a second one would silently replace the first).
		envs, _ := plugin["environment"].(map[string]any)
		for _, k := range []string{"CILIUM_DOCKER_SHUTDOWN_DRAIN", "CILIUM_DOCKER_POLICY_DIR", "CILIUM_DOCKER_ETCD_ENDPOINTS", "CILIUM_DOCKER_NODE_NAME"} {
			if _, ok := envs[k]; !ok {
				t.Errorf("cilium-docker environment %v lacks %s", envs, k)
			}
		}
	})

	t.Run("node2.yml is node1.yml without etcd", func(t *testing.T) {
		svcs := slices.Sorted(maps.Keys(node2["services"].(map[string]any)))
		if want := []string{"cilium-agent", "cilium-docker"}; !slices.Equal(svcs, want) {
			t.Fatalf("node2.yml services %v, want %v", svcs, want)
		}
		for _, name := range svcs {
			one := maps.Clone(service(t, node1, name))
			delete(one, "depends_on")
			if two := service(t, node2, name); !reflect.DeepEqual(one, two) {
				t.Errorf("service %s differs:\nnode1.yml %v\nnode2.yml %v", name, one, two)
			}
		}
	})

	t.Run("policy files", func(t *testing.T) {
		// The agent reads *.yaml files named as DNS subdomains in --static-cnp-path, not subdirectories,
		// and exits on a file it cannot parse.
		dns := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
		entries, err := os.ReadDir(filepath.Join(root, "compose", "policies"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() || filepath.Ext(e.Name()) != ".yaml" || !dns.MatchString(e.Name()) {
				t.Errorf("compose/policies/%s: the agent ignores it (only *.yaml files with lowercase DNS names)", e.Name())
				continue
			}
			var p struct {
				Kind     string
				Metadata struct{ Name, Namespace string }
			}
			b, _ := os.ReadFile(filepath.Join(root, "compose", "policies", e.Name()))
			if err := yaml.Unmarshal(b, &p); err != nil || p.Kind != "CiliumClusterwideNetworkPolicy" || p.Metadata.Name == "" || p.Metadata.Namespace != "" {
				t.Errorf("compose/policies/%s: %v; want a named CiliumClusterwideNetworkPolicy without namespace, got %+v", e.Name(), err, p)
			}
		}
		tls, err := os.ReadFile(filepath.Join(root, "compose", "policy-examples", "tls-termination.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := yaml.Unmarshal(tls, &v); err != nil {
			t.Fatalf("policy-examples/tls-termination.yaml: %v", err)
		}
		for _, s := range []string{"UNTESTED", "terminatingTLS", "originatingTLS", "toFQDNs", "enable-l7-proxy"} {
			if !bytes.Contains(tls, []byte(s)) {
				t.Errorf("policy-examples/tls-termination.yaml does not mention %s", s)
			}
		}
	})

	t.Run("agent flags match the test bed", func(t *testing.T) {
		agentFlagsMatchTestBed(t, strs(service(t, node1, "cilium-agent"), "command"))
	})
}

// agentFlagsMatchTestBed compares the flags the test bed gives cilium-agent (start_agent in
// scripts/testbed/agent.sh) with the compose service's: the same flags, except paths only the bed moves, and
// the node-specific ones fed from the same node values; both read the shared flags from
// compose/agent-config, whose files must all be agent flags.
func agentFlagsMatchTestBed(t *testing.T, composeCmd []string) {
	root := repoRoot()
	src, err := os.ReadFile(filepath.Join(root, "scripts", "testbed.sh"))
	if err != nil {
		t.Fatal(err)
	}
	agentSh, err := os.ReadFile(filepath.Join(root, "scripts", "testbed", "agent.sh"))
	if err != nil {
		t.Fatal(err)
	}
	fn := regexp.MustCompile(`(?ms)^start_agent\(\) \{\n(.*?)\n\}\n`).FindSubmatch(agentSh)
	if fn == nil {
		t.Fatal("scripts/testbed/agent.sh: no start_agent function")
	}
	body := string(fn[1])
	var bedArgs []string
	for _, m := range regexp.MustCompile(`--[a-z0-9][a-z0-9-]*(=\S*)?`).FindAllString(body, -1) {
		bedArgs = append(bedArgs, strings.Trim(m, `"`))
	}
	// The bed's own paths: BPF sources from the cache (the image has them at the default /var/lib/cilium),
	// and the defaults spelled out.
	bedOnly := map[string]string{"lib-dir": `"$NODE_DIR/lib"`, "state-dir": "/var/run/cilium", "bpf-root": "/sys/fs/bpf"}
	var bed []string
	for _, name := range flagNames(bedArgs) {
		if _, ok := bedOnly[name]; !ok {
			bed = append(bed, name)
		}
	}
	for name, val := range bedOnly {
		if !strings.Contains(body, "--"+name+"="+val) {
			t.Errorf("testbed/agent.sh start_agent: want --%s=%s", name, val)
		}
	}
	if compose := flagNames(composeCmd); !slices.Equal(bed, compose) {
		t.Errorf("cilium-agent flags drifted:\n  scripts/testbed.sh start_agent: %v (+ %v)\n  compose/node1.yml:              %v",
			bed, slices.Sorted(maps.Keys(bedOnly)), compose)
	}
	// Node-specific values: the compose file takes them from .env, the bed from its node variables.
	raw, err := os.ReadFile(filepath.Join(root, "compose", "node1.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for flag, vars := range map[string][2]string{
		"--ipv4-node=":                {"${NODE_IP}", `"$NODE_IP"`},
		"--ipv4-range=":               {"${POD_RANGE}", `"$POD_RANGE"`},
		"--devices=":                  {"${NODE_DEVICE}", "eth0"},
		"--kvstore-opt=etcd.address=": {"${ETCD_ADDRESS}", `"$ETCD_URL"`},
	} {
		if !bytes.Contains(raw, []byte(flag+vars[0])) {
			t.Errorf("compose/node1.yml: want %s%s", flag, vars[0])
		}
		if !strings.Contains(body, flag+vars[1]) {
			t.Errorf("testbed/agent.sh start_agent: want %s%s", flag, vars[1])
		}
	}
	if !bytes.Contains(raw, []byte("K8S_NODE_NAME: ${NODE_NAME}")) || !strings.Contains(body, `"K8S_NODE_NAME=$NODE_NS"`) {
		t.Errorf("K8S_NODE_NAME: compose/node1.yml must set it from ${NODE_NAME}, the bed from $NODE_NS")
	}
	// The shared flags: the bed's default --config-dir is the directory the compose file mounts (its
	// agent_config_dir gives AGENT_CONFIG_DIR itself unless AGENT_API_LIMITS=agent asks for the agent's
	// own API rate limits).
	if !strings.Contains(body, `--config-dir="$confdir"`) || !strings.Contains(body, `confdir=$(agent_config_dir)`) ||
		!bytes.Contains(src, []byte("AGENT_CONFIG_DIR=${AGENT_CONFIG_DIR:-$REPO_DIR/compose/agent-config}")) ||
		!bytes.Contains(src, []byte("AGENT_API_LIMITS=${AGENT_API_LIMITS:-stack}")) ||
		!bytes.Contains(agentSh, []byte("if [ \"$AGENT_API_LIMITS\" = stack ]; then\n    echo \"$AGENT_CONFIG_DIR\"")) {
		t.Errorf("testbed.sh: the agent must read --config-dir from compose/agent-config by default")
	}
	// Every file in agent-config is read as a flag: check they are all flags of the agent we run.
	entries, err := os.ReadDir(filepath.Join(root, "compose", "agent-config"))
	if err != nil {
		t.Fatal(err)
	}
	names := flagNames(composeCmd)
	for _, e := range entries {
		if !regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`).MatchString(e.Name()) || e.IsDir() {
			t.Errorf("compose/agent-config/%s: not a flag file (every file there is read as a flag)", e.Name())
		}
		names = append(names, e.Name())
	}
	agents := cachedAgents()
	if len(agents) == 0 {
		t.Logf("flag names not checked against cilium-agent --help: no agent of %v built (scripts/build-cilium.sh)", matrixCilium)
		return
	}
	for version, bin := range agents {
		help, err := agentHelp(bin)
		if err != nil {
			t.Errorf("cilium-agent v%s --help: %v", version, err)
			continue
		}
		for _, name := range names {
			if !strings.Contains(help, "--"+name+" ") {
				t.Errorf("--%s is not a flag of cilium-agent v%s", name, version)
			}
		}
	}
}

// matrixCilium are the agent versions the test matrix runs (scripts/e2e.sh).
var matrixCilium = []string{"1.19.7", "1.20.2"}

// cachedAgents returns the cilium-agent binaries of matrixCilium built into the cache
// (scripts/build-cilium.sh), by version.
func cachedAgents() map[string]string {
	cache := os.Getenv("CILIUM_DOCKER_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "cilium-docker")
	}
	out := map[string]string{}
	for _, v := range matrixCilium {
		bin := filepath.Join(cache, "cilium-v"+v, "bin", "cilium-agent")
		if _, err := os.Stat(bin); err == nil {
			out[v] = bin
		}
	}
	return out
}

// agentHelp returns `cilium-agent --help` of bin.
func agentHelp(bin string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	return string(out), err
}
