package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/sirupsen/logrus"
	yaml "go.yaml.in/yaml/v3"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// composeLoad serialises loads: resolveCompose takes over logrus' standard logger for the length of one.
var composeLoad sync.Mutex

// warningHook collects what compose-go logs at warning level and above.
type warningHook struct {
	mu   sync.Mutex
	msgs []string
}

func (h *warningHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (h *warningHook) Fire(e *logrus.Entry) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, e.Message)
	h.mu.Unlock()
	return nil
}

// unsetVariables are compose-go's "The "X" variable is not set. Defaulting to a blank string." among warnings.
func unsetVariables(warnings []string) []string {
	var unset []string
	for _, w := range warnings {
		if strings.Contains(w, "variable is not set") {
			unset = append(unset, w)
		}
	}
	return unset
}

// resolveCompose loads the compose file file (a path) with the env file envFile in-process with compose's
// own loader (compose-go, the version compose v5.6.0 links), the way `docker compose --env-file ENVFILE
// -f FILE config` does (docker/compose pkg/compose/loader.go and cmd/compose/config.go): project directory
// the file's, interpolation on, relative paths resolved against it, services' environment resolved, unique
// container names, unneeded resources dropped, printed with the project's own MarshalYAML (with `$`
// escaped as `$$`). It returns the printed project decoded as YAML, and what compose logged as warnings
// (kept off the test's output), among them those about variables that are not set (blank in the result).
//
// The variables are the env file's, plus PATH, HOME and PWD as `docker compose` had them when this test
// ran the binary: the test's own environment (a developer's NODE_NAME, say) does not leak in. Unset
// variables are found through the loader's own warning, the one `docker compose config` prints: the
// interpolation looks a variable up alike for ${X} and ${X:-default}, so a missed lookup alone would flag
// the defaults too (CILIUM_VERSION, CILIUM_DOCKER_VERSION).
func resolveCompose(ctx context.Context, file, envFile string) (map[string]any, []string, error) {
	composeLoad.Lock()
	defer composeLoad.Unlock()
	logger := logrus.StandardLogger()
	if !logger.IsLevelEnabled(logrus.WarnLevel) {
		return nil, nil, fmt.Errorf("logrus level %v hides compose-go's unset-variable warnings", logger.GetLevel())
	}
	hook := &warningHook{}
	savedHooks, savedOut := logger.ReplaceHooks(logrus.LevelHooks{}), logger.Out
	logger.AddHook(hook)
	logger.SetOutput(io.Discard)
	defer func() {
		logger.SetOutput(savedOut)
		logger.ReplaceHooks(savedHooks)
	}()

	pwd, err := os.Getwd()
	if err != nil {
		return nil, nil, err
	}
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithEnv([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PWD=" + pwd}),
		cli.WithEnvFiles(envFile),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, nil, err
	}
	project, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, nil, err
	}
	if project, err = project.WithSelectedServices(nil); err != nil {
		return nil, nil, err
	}
	project = project.WithoutUnnecessaryResources()
	if project, err = project.WithServicesEnvironmentResolved(true); err != nil {
		return nil, nil, err
	}
	if err := project.CheckContainerNameUnicity(); err != nil {
		return nil, nil, err
	}
	out, err := project.MarshalYAML()
	if err != nil {
		return nil, nil, err
	}
	out = bytes.ReplaceAll(out, []byte{'$'}, []byte{'$', '$'})
	var cfg map[string]any
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		return nil, nil, fmt.Errorf("decode the printed project: %w\n%s", err, out)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	return cfg, slices.Clone(hook.msgs), nil
}

// composeConfig resolves compose/<file> with compose/.env.example like `docker compose --env-file
// compose/.env.example -f compose/<file> config` (resolveCompose). No Docker engine and no compose binary
// needed. A variable the file uses that .env.example does not set fails the test.
func composeConfig(t *testing.T, file string) map[string]any {
	t.Helper()
	return composeConfigEnv(t, file, filepath.Join(repoRoot(), "compose", ".env.example"))
}

// composeConfigEnv is composeConfig with the env file envFile.
func composeConfigEnv(t *testing.T, file, envFile string) map[string]any {
	t.Helper()
	dir := filepath.Join(repoRoot(), "compose")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, warnings, err := resolveCompose(ctx, filepath.Join(dir, file), envFile)
	if err != nil {
		t.Fatalf("compose config -f compose/%s --env-file %s: %v", file, envFile, err)
	}
	unset := unsetVariables(warnings)
	for _, w := range warnings {
		if !slices.Contains(unset, w) {
			t.Logf("compose config -f compose/%s: warning: %s", file, w)
		}
	}
	if len(unset) > 0 {
		t.Fatalf("compose config -f compose/%s with .env.example: %s", file, strings.Join(unset, "; "))
	}
	return cfg
}

// TestComposeUnsetVariable: the check composeConfig relies on reports a variable the env file does not set,
// also after a default in the same value, and none that has a default or is set.
func TestComposeUnsetVariable(t *testing.T) {
	dir := t.TempDir()
	file, envFile := filepath.Join(dir, "compose.yml"), filepath.Join(dir, "env")
	yml := "services:\n  a:\n    image: busybox:${TAG}\n    environment:\n" +
		"      X: ${DEFAULTED:-x}/${NESTED}\n      Y: ${EMPTY_DEFAULT-}${SET}\n      Z: ${PRESENT:+p}\n"
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envFile, []byte("SET=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, warnings, err := resolveCompose(context.Background(), file, envFile)
	if err != nil {
		t.Fatal(err)
	}
	unset := unsetVariables(warnings)
	want := []string{`The "TAG" variable is not set. Defaulting to a blank string.`,
		`The "NESTED" variable is not set. Defaulting to a blank string.`}
	slices.Sort(unset)
	if slices.Sort(want); !slices.Equal(unset, want) {
		t.Errorf("unset-variable warnings %q, want %q", unset, want)
	}
	svc := service(t, cfg, "a")
	wantField(t, "a", svc, "image", "busybox:")
	wantField(t, "a", svc, "environment", map[string]any{"X": "x/", "Y": "1", "Z": ""})
}

// envExample reads compose/.env.example.
func envExample(t *testing.T) map[string]string {
	t.Helper()
	env, _ := envExampleLines(t)
	return env
}

// envExampleLines reads compose/.env.example: its settings, and its commented-out ones (#KEY=value, the
// optional settings it shows), each last one of a key.
func envExampleLines(t *testing.T) (set, commented map[string]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(), "compose", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, commented = map[string]string{}, map[string]string{}
	key := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		into := set
		if rest, ok := strings.CutPrefix(line, "#"); ok {
			line, into = rest, commented
		}
		if k, v, ok := strings.Cut(line, "="); ok && key.MatchString(k) {
			into[k] = v
		}
	}
	return set, commented
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

// certDir is where every service reads the node's certificates: pki.MountDir (pki/compose_test.go ties
// the paths below to the files `cilium-docker certs node` writes; deploy/ does not link pki).
const certDir = "/etc/cilium-docker/etcd"

// mounts renders a service's resolved volumes (compose v2's long form) as SOURCE:TARGET:ro|rw.
func mounts(svc map[string]any) []string {
	l, _ := svc["volumes"].([]any)
	out := make([]string, 0, len(l))
	for _, v := range l {
		m, _ := v.(map[string]any)
		mode := "rw"
		if ro, _ := m["read_only"].(bool); ro {
			mode = "ro"
		}
		out = append(out, fmt.Sprintf("%v:%v:%s", m["source"], m["target"], mode))
	}
	return out
}

// mountAt returns the service's volume whose target is target.
func mountAt(svc map[string]any, target string) map[string]any {
	l, _ := svc["volumes"].([]any)
	for _, v := range l {
		if m, _ := v.(map[string]any); m["target"] == target {
			return m
		}
	}
	return nil
}

// strings of a nested value (the resolved project), depth first.
func allStrings(v any, out *[]string) {
	switch v := v.(type) {
	case string:
		*out = append(*out, v)
	case []any:
		for _, e := range v {
			allStrings(e, out)
		}
	case map[string]any:
		for k, e := range v {
			*out = append(*out, k)
			allStrings(e, out)
		}
	}
}

// etcdPeerURL is the one plain-HTTP URL of the stack: the single etcd member's peer port, on loopback.
const etcdPeerURL = "http://127.0.0.1:2380"

// plainHTTP returns the lines of text with an http:// URL other than etcdPeerURL.
func plainHTTP(text string) []string {
	var bad []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(strings.ReplaceAll(line, etcdPeerURL, ""), "http://") {
			bad = append(bad, strings.TrimSpace(line))
		}
	}
	return bad
}

// goModVersion is the version go.mod requires of module mod.
func goModVersion(t *testing.T, mod string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(mod) + ` (v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("go.mod does not require %s", mod)
	}
	return string(m[1])
}

// healthTimeout is `cilium-docker health`'s default deadline, read from its source.
func healthTimeout(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "cmd", "cilium-docker", "health.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const healthTimeout = ([0-9]+) \* time\.Second`).FindSubmatch(b)
	if m == nil {
		t.Fatal("cmd/cilium-docker/health.go: no healthTimeout")
	}
	d, _ := time.ParseDuration(string(m[1]) + "s")
	return d
}

// TestComposeFilesValid resolves compose/node1.yml and node2.yml with compose/.env.example with compose's
// own loader, in-process (composeConfig: what `docker compose config` prints), and checks what users
// deploy: the images, the host network, the mounts, the plugin's capabilities, etcd's mutual TLS and the
// node's certificates in every service, a healthcheck on every service and the start order they give, no
// plain-HTTP endpoint, the node-specific agent flags, that node2.yml is node1.yml with etcd only under the
// profile etcd, and the three-member etcd .env.example shows (compose_etcd3_test.go). No
// Docker engine and no compose binary needed: it never skips.
func TestComposeFilesValid(t *testing.T) {
	env := envExample(t)
	for _, k := range []string{"NODE_NAME", "NODE_IP", "NODE_DEVICE", "POD_RANGE", "ETCD_ADDRESS", "CILIUM_DOCKER_PKI"} {
		if env[k] == "" {
			t.Errorf("compose/.env.example does not set %s", k)
		}
	}
	root := repoRoot()
	node1 := composeConfig(t, "node1.yml")
	node2 := composeConfig(t, "node2.yml")
	// The node's directory of `cilium-docker certs` (a relative CILIUM_DOCKER_PKI is the compose directory's).
	pkiDir := env["CILIUM_DOCKER_PKI"]
	if !filepath.IsAbs(pkiDir) {
		pkiDir = filepath.Join(root, "compose", pkiDir)
	}
	nodeCerts := filepath.Join(pkiDir, env["NODE_NAME"])

	t.Run("node1.yml services", func(t *testing.T) {
		svcs := slices.Sorted(maps.Keys(node1["services"].(map[string]any)))
		if want := []string{"cilium-agent", "cilium-docker", "etcd", "ranges"}; !slices.Equal(svcs, want) {
			t.Fatalf("services %v, want %v", svcs, want)
		}
		for _, name := range svcs {
			svc := service(t, node1, name)
			wantField(t, name, svc, "network_mode", "host")
			restart := "always"
			if name == "ranges" {
				restart = "no" // a one-shot: the agent waits for its exit
			}
			wantField(t, name, svc, "restart", restart)
			wantField(t, name, svc, "container_name", map[string]string{"etcd": "cilium-etcd", "cilium-agent": "cilium-agent",
				"cilium-docker": "cilium-docker", "ranges": "cilium-docker-ranges"}[name])
		}
		// The image of the etcd the test bed runs: the version go.mod pins (scripts/build-etcd.sh).
		etcd := service(t, node1, "etcd")
		wantField(t, "etcd", etcd, "image", "quay.io/coreos/etcd:"+goModVersion(t, "go.etcd.io/etcd/server/v3"))
	})

	t.Run("etcd: mutual TLS on the client port", func(t *testing.T) {
		etcd := service(t, node1, "etcd")
		cmd := strs(etcd, "command")
		if len(cmd) == 0 || cmd[0] != "etcd" {
			t.Fatalf("etcd command %q does not start with etcd", cmd)
		}
		wantAll(t, "etcd command", cmd, []string{
			"--listen-client-urls=https://127.0.0.1:2379,https://" + env["NODE_IP"] + ":2379",
			"--advertise-client-urls=https://" + env["NODE_IP"] + ":2379",
			"--client-cert-auth=true",
			"--trusted-ca-file=" + certDir + "/ca.crt",
			"--cert-file=" + certDir + "/etcd-server.crt",
			"--key-file=" + certDir + "/etcd-server.key",
			"--listen-peer-urls=" + etcdPeerURL,
			"--initial-advertise-peer-urls=" + etcdPeerURL,
			"--initial-cluster=" + env["NODE_NAME"] + "=" + etcdPeerURL,
			"--initial-cluster-state=new",
		})
		wantAll(t, "etcd command", cmd, etcdPeerTLS)
		if names := flagNames(cmd); len(names) != len(slices.Compact(slices.Clone(names))) {
			t.Errorf("etcd command repeats a flag: %v", names)
		}
		if want := "https://" + env["NODE_IP"] + ":2379"; env["ETCD_ADDRESS"] != want {
			t.Errorf(".env.example: ETCD_ADDRESS %q, want node 1's etcd %q", env["ETCD_ADDRESS"], want)
		}
	})

	t.Run("no plain-HTTP endpoint", func(t *testing.T) {
		for _, f := range []string{"node1.yml", "node2.yml", ".env.example"} {
			b, err := os.ReadFile(filepath.Join(root, "compose", f))
			if err != nil {
				t.Fatal(err)
			}
			if bad := plainHTTP(string(b)); len(bad) > 0 {
				t.Errorf("compose/%s: plain HTTP (only etcd's loopback peer URL %s may be): %q", f, etcdPeerURL, bad)
			}
		}
		for file, cfg := range map[string]map[string]any{"node1.yml": node1, "node2.yml": node2} {
			var all []string
			allStrings(cfg, &all)
			if bad := plainHTTP(strings.Join(all, "\n")); len(bad) > 0 {
				t.Errorf("%s resolved: plain HTTP: %q", file, bad)
			}
		}
	})

	t.Run("every service mounts the node's certificates read-only", func(t *testing.T) {
		for file, cfg := range map[string]map[string]any{"node1.yml": node1, "node2.yml": node2} {
			for name := range cfg["services"].(map[string]any) {
				m := mountAt(service(t, cfg, name), certDir)
				bind, _ := m["bind"].(map[string]any)
				if m == nil || m["type"] != "bind" || m["source"] != nodeCerts || m["read_only"] != true || bind["create_host_path"] != false {
					t.Errorf("%s %s: mount at %s %v, want %s read-only, create_host_path false (a missing directory fails the start)",
						file, name, certDir, m, nodeCerts)
				}
			}
			raw, err := os.ReadFile(filepath.Join(root, "compose", file))
			if err != nil {
				t.Fatal(err)
			}
			if want := "source: ${CILIUM_DOCKER_PKI:-/etc/cilium-docker/pki}/${NODE_NAME}"; !bytes.Contains(raw, []byte(want)) {
				t.Errorf("compose/%s: want %q (the default directory of cilium-docker certs)", file, want)
			}
		}
	})

	t.Run("healthchecks", func(t *testing.T) {
		want := map[string][]string{
			// etcd's own certificate, for client use too; the image has no shell: exec form.
			"etcd": {"CMD", "/usr/local/bin/etcdctl", "--endpoints=https://127.0.0.1:2379", "--cacert=" + certDir + "/ca.crt",
				"--cert=" + certDir + "/etcd-server.crt", "--key=" + certDir + "/etcd-server.key",
				"--dial-timeout=2s", "--command-timeout=3s", "endpoint", "health"},
			"cilium-agent":  {"CMD", "cilium-dbg", "status", "--brief"},
			"cilium-docker": {"CMD", "/cilium-docker", "health"},
		}
		for file, cfg := range map[string]map[string]any{"node1.yml": node1, "node2.yml": node2} {
			for name := range cfg["services"].(map[string]any) {
				if name == "ranges" {
					continue // a one-shot: compose waits for its exit (service_completed_successfully), not its health
				}
				hc, _ := service(t, cfg, name)["healthcheck"].(map[string]any)
				if hc == nil {
					t.Errorf("%s %s: no healthcheck", file, name)
					continue
				}
				if got := strs(hc, "test"); !slices.Equal(got, want[name]) {
					t.Errorf("%s %s: healthcheck test %q, want %q", file, name, got, want[name])
				}
				for _, k := range []string{"interval", "timeout", "start_period", "start_interval"} {
					if d, err := time.ParseDuration(fmt.Sprint(hc[k])); err != nil || d <= 0 {
						t.Errorf("%s %s: healthcheck %s %v: want a positive duration", file, name, k, hc[k])
					}
				}
				if r, _ := hc["retries"].(int); r < 1 {
					t.Errorf("%s %s: healthcheck retries %v, want at least 1", file, name, hc["retries"])
				}
			}
			// health reports which part failed before Docker gives up on it.
			hc, _ := service(t, cfg, "cilium-docker")["healthcheck"].(map[string]any)
			if d, _ := time.ParseDuration(fmt.Sprint(hc["timeout"])); d <= healthTimeout(t) {
				t.Errorf("%s cilium-docker: healthcheck timeout %v, want more than cilium-docker health's own %v", file, hc["timeout"], healthTimeout(t))
			}
		}
		src, err := os.ReadFile(filepath.Join(root, "cmd", "cilium-docker", "run.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(src, []byte(`{Name: "health", Run: runHealth}`)) {
			t.Errorf("cmd/cilium-docker/run.go: no health command in the command table")
		}
	})

	t.Run("start order: the agent after etcd is healthy, the plugin after the agent started", func(t *testing.T) {
		cond := func(svc, c string) map[string]any {
			return map[string]any{svc: map[string]any{"condition": c, "required": true}}
		}
		healthy := func(svc string) map[string]any { return cond(svc, "service_healthy") }
		wantField(t, "etcd", service(t, node1, "etcd"), "depends_on", nil)
		ranges := cond("ranges", "service_completed_successfully")
		wantField(t, "ranges", service(t, node1, "ranges"), "depends_on", healthy("etcd"))
		wantField(t, "ranges (node2.yml)", service(t, node2, "ranges"), "depends_on", nil)
		agent1 := healthy("etcd")
		maps.Copy(agent1, ranges)
		wantField(t, "cilium-agent", service(t, node1, "cilium-agent"), "depends_on", agent1)
		wantField(t, "cilium-agent (node2.yml)", service(t, node2, "cilium-agent"), "depends_on", ranges)
		for _, cfg := range []map[string]any{node1, node2} {
			// Started only: on a node booted before etcd is reachable the agent is unhealthy until it is.
			wantField(t, "cilium-docker", service(t, cfg, "cilium-docker"), "depends_on", cond("cilium-agent", "service_started"))
		}
	})

	t.Run("cilium-agent service", func(t *testing.T) {
		agent := service(t, node1, "cilium-agent")
		// Both files' default agent is the matrix's current one (CILIUM_VERSION unset).
		wantField(t, "cilium-agent", agent, "image", "quay.io/cilium/cilium:v"+matrix.CiliumCurrent)
		wantField(t, "cilium-agent (node2.yml)", service(t, node2, "cilium-agent"), "image", "quay.io/cilium/cilium:v"+matrix.CiliumCurrent)
		wantField(t, "cilium-agent", agent, "environment", map[string]any{"K8S_NODE_NAME": env["NODE_NAME"]})
		wantAll(t, "cilium-agent volumes", mounts(agent), []string{
			"/sys/fs/bpf:/sys/fs/bpf:rw",
			"/sys/fs/cgroup:/host/sys/fs/cgroup:rw",
			"/var/run/cilium:/var/run/cilium:rw",
			"/lib/modules:/lib/modules:ro",
			"/run/xtables.lock:/run/xtables.lock:rw",
			"/proc/sys/net:/host/proc/sys/net:rw",
			"/proc/sys/kernel:/host/proc/sys/kernel:rw",
			filepath.Join(root, "compose", "agent-config") + ":/etc/cilium/agent-config:ro",
			filepath.Join(root, "compose", "policies") + ":/etc/cilium/policies:ro",
			"ranges:/run/cilium-docker/ranges:ro",
			nodeCerts + ":" + certDir + ":ro",
		})
		// The node's range: the files the ranges service wrote, read by a shell that execs the agent.
		// (The loader keeps compose's $$ escapes; the container's shell gets one $.)
		ep := strs(agent, "entrypoint")
		if len(ep) != 4 || ep[0] != "/bin/sh" || ep[1] != "-c" || ep[3] != "sh" ||
			!strings.Contains(strings.ReplaceAll(ep[2], "$$", "$"), `exec "$@" --ipv4-range="$v4" ${v6:+--ipv6-range="$v6"}`) ||
			!strings.Contains(strings.ReplaceAll(ep[2], "$$", "$"), "v4=$(cat $r/ipv4-range) || exit 1") {
			t.Errorf("cilium-agent entrypoint %q: want /bin/sh -c reading the range files and exec'ing its command", ep)
		}
		cmd := strs(agent, "command")
		if len(cmd) == 0 || cmd[0] != "cilium-agent" {
			t.Fatalf("cilium-agent command %q does not start with cilium-agent", cmd)
		}
		wantAll(t, "cilium-agent command", cmd, []string{
			"--config-dir=/etc/cilium/agent-config",
			"--static-cnp-path=/etc/cilium/policies",
			"--cgroup-root=/host/sys/fs/cgroup",
			"--procfs=/host/proc",
			"--ipv4-node=" + env["NODE_IP"],
			"--devices=" + env["NODE_DEVICE"],
			// Endpoints, CA and the agent's client certificate (certs node writes the file).
			"--kvstore-opt=etcd.config=" + certDir + "/etcd-config.yaml",
		})
		for _, a := range cmd {
			if strings.Contains(a, "etcd.address") {
				t.Errorf("cilium-agent command has %q: the endpoints are etcd-config.yaml's", a)
			}
		}
		if names := flagNames(cmd); len(names) != len(slices.Compact(slices.Clone(names))) {
			t.Errorf("cilium-agent command repeats a flag: %v", names)
		}
		if slices.Contains(flagNames(cmd), "ipv4-range") {
			t.Errorf("cilium-agent command has --ipv4-range: the range is the ranges service's")
		}
	})

	t.Run("ranges service: the node's claim, before the agent", func(t *testing.T) {
		for file, cfg := range map[string]map[string]any{"node1.yml": node1, "node2.yml": node2} {
			r := service(t, cfg, "ranges")
			wantField(t, file+" ranges", r, "image", "cilium-docker:latest")
			wantField(t, file+" ranges", r, "cap_drop", []any{"ALL"})
			wantField(t, file+" ranges", r, "read_only", true)
			if _, ok := r["cap_add"]; ok {
				t.Errorf("%s ranges: cap_add %v, want none", file, r["cap_add"])
			}
			wantField(t, file+" ranges", r, "command", []any{"node", "claim", env["NODE_NAME"], "--range=" + env["POD_RANGE"],
				"--pool=", "--per-node=20", "--write=/run/cilium-docker/ranges", "--wait=5m"})
			wantAll(t, file+" ranges volumes", mounts(r), []string{"ranges:/run/cilium-docker/ranges:rw", nodeCerts + ":" + certDir + ":ro"})
			wantField(t, file+" ranges", r, "environment", map[string]any{
				"CILIUM_DOCKER_ETCD_ENDPOINTS": env["ETCD_ADDRESS"],
				"CILIUM_DOCKER_ETCD_CA":        certDir + "/ca.crt",
				"CILIUM_DOCKER_ETCD_CERT":      certDir + "/cilium-docker.crt",
				"CILIUM_DOCKER_ETCD_KEY":       certDir + "/cilium-docker.key",
			})
		}
		raw, err := os.ReadFile(filepath.Join(root, "compose", "node1.yml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"--range=${POD_RANGE:-}", "--pool=${POD_POOL:-}", "--per-node=${POD_POOL_PER_NODE:-20}"} {
			if !bytes.Contains(raw, []byte(want)) {
				t.Errorf("compose/node1.yml ranges: want %s", want)
			}
		}
	})

	t.Run("cilium-agent security: not privileged, the chart's capabilities less SYS_RESOURCE", func(t *testing.T) {
		for file, cfg := range map[string]map[string]any{"node1.yml": node1, "node2.yml": node2} {
			agentSecurity(t, file, service(t, cfg, "cilium-agent"))
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
		vols := mounts(plugin)
		sort.Strings(vols)
		want := []string{
			"/run/docker/plugins:/run/docker/plugins:rw",
			"/var/run/cilium:/var/run/cilium:ro",
			"/var/run/docker.sock:/var/run/docker.sock:ro",
			filepath.Join(root, "compose", "policies") + ":/etc/cilium/policies:rw",
			nodeCerts + ":" + certDir + ":ro",
		}
		sort.Strings(want) // the checkout's own path sorts anywhere among the others
		if !slices.Equal(vols, want) {
			t.Errorf("cilium-docker volumes %q, want %q", vols, want)
		}
		if _, ok := plugin["command"]; ok {
			t.Errorf("cilium-docker command %v: the defaults match the mounts, keep the image's", plugin["command"])
		}
		// One environment block (a second one would silently replace the first); the policy sync reaches
		// etcd over TLS with the plugin's own client certificate.
		envs, _ := plugin["environment"].(map[string]any)
		for k, v := range map[string]string{
			"CILIUM_DOCKER_SHUTDOWN_DRAIN": "25s",
			"CILIUM_DOCKER_POLICY_DIR":     "/etc/cilium/policies",
			"CILIUM_DOCKER_ETCD_ENDPOINTS": env["ETCD_ADDRESS"],
			"CILIUM_DOCKER_ETCD_CA":        certDir + "/ca.crt",
			"CILIUM_DOCKER_ETCD_CERT":      certDir + "/cilium-docker.crt",
			"CILIUM_DOCKER_ETCD_KEY":       certDir + "/cilium-docker.key",
			"CILIUM_DOCKER_NODE_NAME":      env["NODE_NAME"],
		} {
			if got := fmt.Sprint(envs[k]); got != v {
				t.Errorf("cilium-docker environment %s=%q, want %q", k, got, v)
			}
		}
		flags := pluginFlags(t)
		for k := range envs {
			flag, _ := strings.CutPrefix(k, "CILIUM_DOCKER_")
			if flag = strings.ReplaceAll(strings.ToLower(flag), "_", "-"); !flags[flag] {
				t.Errorf("cilium-docker environment %s: no flag --%s of the plugin reads it", k, flag)
			}
		}
	})

	t.Run("node2.yml is node1.yml, its etcd only with the profile etcd", func(t *testing.T) {
		svcs := slices.Sorted(maps.Keys(node2["services"].(map[string]any)))
		if want := []string{"cilium-agent", "cilium-docker", "ranges"}; !slices.Equal(svcs, want) {
			t.Fatalf("node2.yml services %v, want %v (etcd only with COMPOSE_PROFILES=etcd)", svcs, want)
		}
		wantNode2EtcdProfile(t)
		for _, name := range svcs {
			one := maps.Clone(service(t, node1, name))
			switch name {
			case "cilium-agent":
				one["depends_on"] = maps.Clone(one["depends_on"].(map[string]any))
				delete(one["depends_on"].(map[string]any), "etcd") // node 1's own
			case "ranges":
				delete(one, "depends_on") // on etcd, node 1's own
			}
			if two := service(t, node2, name); !reflect.DeepEqual(one, two) {
				t.Errorf("service %s differs:\nnode1.yml %v\nnode2.yml %v", name, one, two)
			}
		}
	})

	t.Run("three etcd members", func(t *testing.T) { testThreeMembers(t) })

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
		// The walkthrough's step 6 (README.md): the shipped app2-from-app3.yaml moved into etcd as a
		// classic rule array, the same rule: app2 admits app3 only. (Cilium's parser takes it: policy/.)
		b, err := os.ReadFile(filepath.Join(root, "compose", "policy-examples", "app2-from-app3.json"))
		if err != nil {
			t.Fatal(err)
		}
		type selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		}
		var rules []struct {
			Labels           []map[string]string `json:"labels"`
			EndpointSelector selector            `json:"endpointSelector"`
			Ingress          []struct {
				FromEndpoints []selector `json:"fromEndpoints"`
			} `json:"ingress"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rules); err != nil || len(rules) != 1 || len(rules[0].Ingress) != 1 ||
			len(rules[0].Ingress[0].FromEndpoints) != 1 || len(rules[0].Labels) != 1 ||
			rules[0].Labels[0]["value"] != "app2-from-app3" ||
			!maps.Equal(rules[0].EndpointSelector.MatchLabels, map[string]string{"name": "app2"}) ||
			!maps.Equal(rules[0].Ingress[0].FromEndpoints[0].MatchLabels, map[string]string{"name": "app3"}) {
			t.Errorf("policy-examples/app2-from-app3.json: %v %+v; want one rule app2-from-app3: app2 admits name=app3", err, rules)
		}
		readme, err := os.ReadFile(filepath.Join(root, "compose", "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"policy-examples/app2-from-app3.json", "rm policies/app2-from-app3.yaml"} {
			if !bytes.Contains(readme, []byte(s)) {
				t.Errorf("compose/README.md: the walkthrough does not say %q", s)
			}
		}
	})

	t.Run("agent flags match the test bed", func(t *testing.T) {
		agent := service(t, node1, "cilium-agent")
		// The command's flags and the range the entrypoint adds.
		agentFlagsMatchTestBed(t, append(strs(agent, "command"), `--ipv4-range="$v4"`))
	})
}

// agentCaps are the agent container's capabilities: Cilium's Helm chart's for the agent container
// (securityContext.capabilities.ciliumAgent in install/kubernetes/cilium/values.yaml, the same in 1.19.7
// and 1.20.2) less SYS_RESOURCE, whose one use in the agent, lifting RLIMIT_MEMLOCK (rlimit.RemoveMemlock,
// kernels before 5.11), the memlock ulimit makes needless. Docker 20.10 grants an unprivileged container
// these even where the host's bounding set lacks a capability the kernel knows (it refuses a privileged
// one there), and knows no BPF or PERFMON (SYS_ADMIN covers both).
var agentCaps = []string{"CHOWN", "KILL", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "SYS_MODULE", "SYS_ADMIN",
	"DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID", "SYSLOG"}

// agentSecurity checks the agent service's privileges in the resolved compose file file: not privileged,
// every capability dropped but agentCaps, an unlimited memlock rlimit, AppArmor and seccomp unconfined (as
// the chart's agent pod), and nothing else in security_opt.
func agentSecurity(t *testing.T, file string, agent map[string]any) {
	t.Helper()
	name := "cilium-agent (" + file + ")"
	if v, ok := agent["privileged"]; ok {
		t.Errorf("%s: privileged %v: the agent runs with its capabilities (dockerd 20.10 cannot start a "+
			"privileged container where the bounding set lacks a capability)", name, v)
	}
	wantField(t, name, agent, "cap_drop", []any{"ALL"})
	capAdd := strs(agent, "cap_add")
	if !slices.Equal(capAdd, agentCaps) {
		t.Errorf("%s: cap_add %q, want %q", name, capAdd, agentCaps)
	}
	wantField(t, name, agent, "ulimits", map[string]any{"memlock": -1})
	wantField(t, name, agent, "security_opt", []any{"apparmor:unconfined", "seccomp:unconfined"})
}

// agentFlagsMatchTestBed compares the flags the test bed gives cilium-agent (testbed.AgentFlags) with
// the compose service's: the same flags, except paths only the bed moves, and the node-specific ones fed
// from the same node values; both read the shared flags from compose/agent-config, whose files must all
// be agent flags.
func agentFlagsMatchTestBed(t *testing.T, composeCmd []string) {
	root := repoRoot()
	nd, err := testbed.Config{Dir: "/tmp/cdtb"}.Node(2)
	if err != nil {
		t.Fatal(err)
	}
	confDir := filepath.Join(root, "compose", "agent-config")
	bedArgs := testbed.AgentFlags(nd, confDir, false, nil)
	// The bed's own paths: BPF sources from the cache (the image has them at the default /var/lib/cilium),
	// and the defaults spelled out.
	bedOnly := map[string]string{"lib-dir": nd.Dir + "/lib", "state-dir": "/var/run/cilium", "bpf-root": "/sys/fs/bpf"}
	// The container's own: the host's sysctls where the compose file mounts them (the bed's agents run
	// on the host, whose /proc is the default).
	composeOnly := map[string]string{"procfs": "/host/proc"}
	bed := flagsWithout(flagNames(bedArgs), bedOnly)
	for name, val := range bedOnly {
		if !slices.Contains(bedArgs, "--"+name+"="+val) {
			t.Errorf("testbed.AgentFlags: want --%s=%s", name, val)
		}
	}
	compose := flagsWithout(flagNames(composeCmd), composeOnly)
	for name, val := range composeOnly {
		if !slices.Contains(composeCmd, "--"+name+"="+val) {
			t.Errorf("compose/node1.yml cilium-agent: want --%s=%s", name, val)
		}
		if slices.ContainsFunc(bedArgs, func(a string) bool { return strings.HasPrefix(a, "--"+name) }) {
			t.Errorf("testbed.AgentFlags: --%s is the compose container's own", name)
		}
	}
	if !slices.Equal(bed, compose) {
		t.Errorf("cilium-agent flags drifted:\n  testbed.AgentFlags: %v (+ %v)\n  compose/node1.yml:  %v (+ %v)",
			bed, slices.Sorted(maps.Keys(bedOnly)), compose, slices.Sorted(maps.Keys(composeOnly)))
	}
	// Node-specific values: the compose file takes them from .env, the bed from its node.
	raw, err := os.ReadFile(filepath.Join(root, "compose", "node1.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for flag, vars := range map[string][2]string{
		"--ipv4-node=":  {"${NODE_IP}", nd.IP},
		"--ipv4-range=": {`"$$v4"`, nd.PodRange}, // compose: the ranges service's file (POD_RANGE or the pool's)
		"--devices=":    {"${NODE_DEVICE}", "eth0"},
	} {
		if !bytes.Contains(raw, []byte(flag+vars[0])) {
			t.Errorf("compose/node1.yml: want %s%s", flag, vars[0])
		}
		if !slices.Contains(bedArgs, flag+vars[1]) {
			t.Errorf("testbed.AgentFlags: want %s%s", flag, vars[1])
		}
	}
	// The kvstore: the compose agent reads the node's etcd-config.yaml (endpoints and TLS files, written by
	// cilium-docker certs node); the bed's agent is given its etcd as a URL.
	if !bytes.Contains(raw, []byte("--kvstore-opt=etcd.config=/etc/cilium-docker/etcd/etcd-config.yaml")) {
		t.Errorf("compose/node1.yml: want --kvstore-opt=etcd.config=/etc/cilium-docker/etcd/etcd-config.yaml")
	}
	if !slices.Contains(bedArgs, "--kvstore-opt=etcd.address="+nd.EtcdURL) {
		t.Errorf("testbed.AgentFlags: want --kvstore-opt=etcd.address=%s", nd.EtcdURL)
	}
	if !bytes.Contains(raw, []byte("K8S_NODE_NAME: ${NODE_NAME}")) || !slices.Contains(testbed.AgentEnv(nd), "K8S_NODE_NAME="+nd.NS) {
		t.Errorf("K8S_NODE_NAME: compose/node1.yml must set it from ${NODE_NAME}, the bed from the node's netns name")
	}
	// The shared flags: the bed's default --config-dir is the directory the compose file mounts (unless
	// AGENT_API_LIMITS=agent asks for the agent's own API rate limits).
	def, err := testbed.Options{}.Normalise(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(bedArgs, "--config-dir="+confDir) || def.AgentConfigDir != confDir || def.Limits != testbed.LimitsStack {
		t.Errorf("the bed's agent must read --config-dir from compose/agent-config by default: options %+v", def)
	}
	if d, err := testbed.AgentConfigDir(nd, testbed.Agent{ConfigDir: confDir, Limits: "stack"}); err != nil || d != confDir {
		t.Errorf("testbed.AgentConfigDir with the stack's limits = %q, %v; want %s", d, err, confDir)
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
		t.Logf("flag names not checked against cilium-agent --help: no agent of %v built (scripts/build-cilium.sh)", matrix.Agents())
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

// cachedAgents returns the cilium-agent binaries of the matrix's agents (matrix.Agents) built into the cache
// (scripts/build-cilium.sh), by version.
func cachedAgents() map[string]string {
	cache := cacheDir()
	out := map[string]string{}
	for _, v := range matrix.Agents() {
		bin := filepath.Join(cache, "cilium-v"+v, "bin", "cilium-agent")
		if _, err := os.Stat(bin); err == nil {
			out[v] = bin
		}
	}
	return out
}

// cacheDir is the scripts' build cache: $CILIUM_DOCKER_CACHE, else $XDG_CACHE_HOME/cilium-docker, else
// ~/.cache/cilium-docker.
func cacheDir() string {
	if cache := os.Getenv("CILIUM_DOCKER_CACHE"); cache != "" {
		return cache
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "cilium-docker")
}

// agentHelp returns `cilium-agent --help` of bin.
func agentHelp(bin string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	return string(out), err
}

// flagsWithout returns names less those that are keys of only (one side's own flags).
func flagsWithout(names []string, only map[string]string) []string {
	var out []string
	for _, name := range names {
		if _, ok := only[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}
