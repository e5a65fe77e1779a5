package bed

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A stack node (Up with WithPluginMode("stack")) runs only its dockerd; etcd, cilium-agent and the plugin
// are containers of that dockerd, brought up by `docker compose` from the repository's compose files, as
// a user deploys them on a host.

// Stack is one node's compose stack: a copy of the repository's compose/ directory (the project
// directory, as a user copies it to a host) with the node's .env, run with `docker compose -f FILE` in the
// node's namespaces against its dockerd.
type Stack struct {
	nd   *Node
	Dir  string // the project directory on the host
	File string // node1.yml on node 1, node2.yml on the others
	Env  map[string]string
}

// PKI is the cluster's certificate directory, made by `cilium-docker certs init` and `certs node`.
type PKI struct{ Dir string }

// NewPKI makes the cluster's CA with `cilium-docker certs init`, in a directory of the test.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	p := &PKI{Dir: filepath.Join(t.TempDir(), "pki")}
	mustRun(t, time.Minute, nil, PluginBin(), "certs", "init", "--dir", p.Dir)
	return p
}

// Node makes node name's certificates (etcd server for ip, agent, plugin, policy) with `cilium-docker
// certs node`, for a cluster whose etcd members are at etcdIPs, in the directory name of p.Dir.
func (p *PKI) Node(t testing.TB, name, ip string, etcdIPs []string) {
	t.Helper()
	mustRun(t, time.Minute, nil, PluginBin(), "certs", "node", "--dir", p.Dir,
		"--etcd-endpoints", EtcdURLs(etcdIPs), name, ip)
}

// EtcdURL is the stack's etcd client URL on the node with address ip: TLS on 2379.
func EtcdURL(ip string) string { return "https://" + ip + ":2379" }

// EtcdURLs are the client URLs of the members at ips, comma-separated (ETCD_ADDRESS, --etcd-endpoints).
func EtcdURLs(ips []string) string {
	urls := make([]string, len(ips))
	for i, ip := range ips {
		urls[i] = EtcdURL(ip)
	}
	return strings.Join(urls, ",")
}

// composeConfig builds `docker compose` (compose v2 from its Go module, cached by version) once per test
// binary and returns the DOCKER_CONFIG directory whose cli-plugins holds it.
var composeConfig = sync.OnceValues(func() (string, error) {
	out, err := exec.Command(filepath.Join(RepoRoot(), "scripts", "build-compose.sh")).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("build-compose.sh: %w\n%s", err, ee.Stderr)
		}
		return "", fmt.Errorf("build-compose.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
})

// NewStack copies compose/ into a project directory of the node and writes its .env as the compose
// README says, for the node's address, device and range, the cluster's etcd members at etcdIPs and the
// node's certificates in pki, and CILIUM_AGENT_MEMLOCK where the bed's dockerd cannot raise the limit
// (AgentMemlock). extra adds or overrides .env lines (CILIUM_VERSION, for example).
func (nd *Node) NewStack(t testing.TB, pki *PKI, etcdIPs []string, extra map[string]string) *Stack {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "compose")
	mustRun(t, time.Minute, nil, "cp", "-r", filepath.Join(RepoRoot(), "compose"), dir)
	name := nd.env["NODE_NAME"]
	pki.Node(t, name, nd.IP(), etcdIPs)
	env := map[string]string{
		"NODE_NAME":         name,
		"NODE_IP":           nd.IP(),
		"NODE_DEVICE":       "eth0",
		"POD_RANGE":         nd.env["POD_RANGE"],
		"ETCD_ADDRESS":      EtcdURLs(etcdIPs),
		"CILIUM_DOCKER_PKI": pki.Dir,
		"CILIUM_VERSION":    nd.Leg.Cilium,
	}
	memlock, err := AgentMemlock()
	if err != nil {
		t.Fatalf("the agent's memlock limit: %v", err)
	}
	if memlock != "" {
		env["CILIUM_AGENT_MEMLOCK"] = memlock // .env.example: a dockerd that cannot raise the limit
	}
	for k, v := range extra {
		env[k] = v
	}
	s := &Stack{nd: nd, Dir: dir, File: "node2.yml", Env: env}
	if nd.N == 1 {
		s.File = "node1.yml"
	}
	s.writeEnv(t)
	return s
}

func (s *Stack) writeEnv(t testing.TB) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# written by the e2e test for " + s.nd.String() + "\n")
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		fmt.Fprintf(&b, "%s=%s\n", k, s.Env[k])
	}
	if err := os.WriteFile(filepath.Join(s.Dir, ".env"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Set changes one .env value; the next Up applies it (an agent upgrade by its image tag, say).
func (s *Stack) Set(t testing.TB, key, value string) {
	t.Helper()
	s.Env[key] = value
	s.writeEnv(t)
}

// Compose runs `docker compose -f FILE ARGS...` in the project directory, in the node's namespaces,
// against its dockerd, and returns the combined output.
func (s *Stack) Compose(t testing.TB, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	return s.ComposeAsync(t, timeout, args...)()
}

// ComposeAsync starts Compose in the background (a node 2 whose `up` waits for node 1's etcd, say) and
// returns the wait for its output and error.
func (s *Stack) ComposeAsync(t testing.TB, timeout time.Duration, args ...string) (wait func() (string, error)) {
	t.Helper()
	cfg, err := composeConfig()
	if err != nil {
		t.Fatalf("docker compose: %v", err)
	}
	argv := append([]string{"env", "DOCKER_CONFIG=" + cfg, "docker", "compose",
		"--project-directory", s.Dir, "-f", filepath.Join(s.Dir, s.File)}, args...)
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := execOn(timeout, s.nd.N, argv...)
		out += stderrOf(err)
		done <- result{out, err}
	}()
	return func() (string, error) {
		r := <-done
		return r.out, r.err
	}
}

// MustCompose is Compose failing the test on error.
func (s *Stack) MustCompose(t testing.TB, timeout time.Duration, args ...string) string {
	t.Helper()
	out, err := s.Compose(t, timeout, args...)
	if err != nil {
		t.Fatalf("leg %s: node %d: docker compose %s: %v\n%s", s.nd.Leg, s.nd.N, strings.Join(args, " "), err, out)
	}
	return out
}

// Up runs `docker compose up -d --wait`: it returns once every service's healthcheck passes.
func (s *Stack) Up(t testing.TB) {
	t.Helper()
	start := time.Now()
	s.MustCompose(t, 6*time.Minute, "up", "-d", "--wait", "--wait-timeout", "300")
	t.Logf("leg %s: node %d: docker compose -f %s up -d --wait: %s", s.nd.Leg, s.nd.N, s.File,
		time.Since(start).Round(100*time.Millisecond))
}

// Down runs `docker compose down` (the named volumes stay, as for a user).
func (s *Stack) Down(t testing.TB) {
	t.Helper()
	s.MustCompose(t, 3*time.Minute, "down")
}

// Logs is the tail of the stack's service logs, for a failure.
func (s *Stack) Logs(t testing.TB, lines int) string {
	t.Helper()
	out, _ := s.Compose(t, time.Minute, "logs", "--no-color", "--tail", strconv.Itoa(lines))
	return out
}

// Policy runs `cilium-docker policy ARGS...` as compose/README.md does: in the node's plugin container
// (docker exec -i), through the stack's etcd over TLS, with the policy commands' own client certificate,
// stdin from the file stdin when it is not empty. It returns the combined output and the exit code.
func (s *Stack) Policy(t testing.TB, stdin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{"exec", "-i",
		"-e", "CILIUM_DOCKER_ETCD_CERT=/etc/cilium-docker/etcd/cilium-docker-policy.crt",
		"-e", "CILIUM_DOCKER_ETCD_KEY=/etc/cilium-docker/etcd/cilium-docker-policy.key",
		"cilium-docker", "/cilium-docker", "policy"}, args...)
	cmd := exec.CommandContext(ctx, dockerCLI, argv...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+s.nd.env["DOCKER_HOST"])
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	out, err := cmd.CombinedOutput()
	if err != nil && exitCode(err) < 0 {
		t.Fatalf("leg %s: node %d: docker %s: %v\n%s", s.nd.Leg, s.nd.N, strings.Join(argv, " "), err, out)
	}
	return string(out), max(exitCode(err), 0)
}

// PolicyDir is the node's policies/ of the project directory: the agent's --static-cnp-path.
func (s *Stack) PolicyDir() string { return filepath.Join(s.Dir, "policies") }
