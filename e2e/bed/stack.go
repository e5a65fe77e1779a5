package bed

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// A stack node (Up with WithPluginMode("stack")) runs only its dockerd; etcd, cilium-agent and the plugin
// are containers of that dockerd, brought up by `docker compose` from the repository's compose files, as
// a user deploys them on a host.

// Stack is one node's compose stack (testbed.Stack): a copy of the repository's compose/ directory with
// the node's .env, run with `docker compose -f FILE` in the node's namespaces against its dockerd.
type Stack struct {
	*testbed.Stack
	nd *Node
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
func EtcdURL(ip string) string { return testbed.EtcdURL(ip) }

// EtcdURLs are the client URLs of the members at ips, comma-separated (ETCD_ADDRESS, --etcd-endpoints).
func EtcdURLs(ips []string) string { return testbed.EtcdURLs(ips) }

// composeConfig builds `docker compose` once per test binary and returns its DOCKER_CONFIG directory.
var composeConfig = sync.OnceValues(func() (dir string, err error) {
	err = onBed(func(c testbed.Config) (err error) {
		dir, err = c.ComposeConfig()
		return err
	})
	return dir, err
})

// NewStack copies compose/ into a project directory of the node and writes its .env as the compose
// README says (testbed.StackEnv) for the cluster's etcd members at etcdIPs and the node's certificates in
// pki, which it makes. extra adds or overrides .env lines (POD_POOL, for example).
func (nd *Node) NewStack(t testing.TB, pki *PKI, etcdIPs []string, extra map[string]string) *Stack {
	t.Helper()
	st, err := state(nd.N)
	if err != nil {
		t.Fatalf("leg %s: %v", nd.Leg, err)
	}
	pki.Node(t, st.Name, st.IP, etcdIPs)
	env, err := testbed.StackEnv(st, etcdIPs, pki.Dir)
	if err != nil {
		t.Fatal(err)
	}
	env["CILIUM_VERSION"] = nd.Leg.Cilium
	maps.Copy(env, extra)
	s := &Stack{nd: nd}
	if err := onBed(func(c testbed.Config) (err error) {
		s.Stack, err = c.NewStack(nd.N, filepath.Join(t.TempDir(), "compose"), env)
		return err
	}); err != nil {
		t.Fatalf("leg %s: %v", nd.Leg, err)
	}
	return s
}

// Set changes one .env value; the next Up applies it (an agent upgrade by its image tag, say).
func (s *Stack) Set(t testing.TB, key, value string) {
	t.Helper()
	s.Env[key] = value
	if err := s.WriteEnv(); err != nil {
		t.Fatal(err)
	}
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
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() { // owned by the wait below, which every caller makes; ends with the command's deadline
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var cmd *exec.Cmd
		if err := onBed(func(c testbed.Config) (err error) {
			cmd, err = c.Compose(ctx, s.Stack, cfg, args...)
			return err
		}); err != nil {
			done <- result{"", err}
			return
		}
		out, err := cmd.CombinedOutput()
		done <- result{string(out), err}
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
