package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
)

// dockerCLI is Debian's client, the same version as the test bed's dockerd.
const dockerCLI = "/usr/bin/docker"

// image is the busybox image the test bed imports into every node.
const image = "cdbusybox:latest"

// node is one test-bed node: a network namespace with etcd (node 1), cilium-agent, dockerd and the plugin.
type node struct {
	n     int
	env   map[string]string
	agent *agent.Client
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// skipUnlessBed skips under -short and when not root: the e2e tests need the real test bed.
func skipUnlessBed(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("e2e: needs root")
	}
}

// upNode brings node n up (or reuses it if it is up) and registers its log tails for failures.
func upNode(t *testing.T, n int) *node {
	t.Helper()
	skipUnlessBed(t)
	out, err := testbed(10*time.Minute, "up", fmt.Sprint(n))
	if err != nil {
		t.Fatalf("testbed up %d: %v\n%s", n, err, out)
	}
	nd := &node{n: n, env: readEnv(t, n)}
	c, err := agent.New("unix://"+nd.env["CILIUM_SOCK"], agent.Timeouts{})
	if err != nil {
		t.Fatal(err)
	}
	nd.agent = c
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := testbed(time.Minute, "logs", fmt.Sprint(n))
			t.Logf("node %d logs:\n%s", n, logs)
		}
	})
	return nd
}

func testbed(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(), "scripts", "testbed.sh"), args...)
	cmd.Env = append(os.Environ(), "PLUGIN_BIN="+pluginBin())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func pluginBin() string {
	if p := os.Getenv("PLUGIN_BIN"); p != "" {
		return p
	}
	return filepath.Join(repoRoot(), "bin", "cilium-docker")
}

func readEnv(t testing.TB, n int) map[string]string {
	t.Helper()
	dir := os.Getenv("TESTBED_DIR")
	if dir == "" {
		dir = "/tmp/cdtb"
	}
	f, err := os.Open(filepath.Join(dir, fmt.Sprintf("n%d", n), "env"))
	if err != nil {
		t.Fatalf("node %d env: %v", n, err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok {
			env[k] = strings.Trim(v, `"'`)
		}
	}
	return env
}

// docker runs the Docker CLI against the node's dockerd and returns its trimmed output.
func (nd *node) docker(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerCLI, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+nd.env["DOCKER_HOST"])
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// bestEffort runs the Docker CLI where a failure fails nothing (cleanups, removing what may be gone
// already) and logs it.
func (nd *node) bestEffort(t testing.TB, args ...string) {
	t.Helper()
	if out, err := nd.docker(t, args...); err != nil {
		t.Logf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// must runs the Docker CLI and fails the test on error.
func (nd *node) must(t testing.TB, args ...string) string {
	t.Helper()
	out, err := nd.docker(t, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// inNode runs a command in the node's network namespace (ip, for example).
func (nd *node) inNode(t testing.TB, args ...string) string {
	t.Helper()
	out, err := testbed(time.Minute, append([]string{"exec", fmt.Sprint(nd.n)}, args...)...)
	if err != nil {
		t.Fatalf("node %d exec %v: %v\n%s", nd.n, args, err, out)
	}
	return out
}

// eventually polls f until it returns nil or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, d, err)
		}
		time.Sleep(200 * time.Millisecond) // poll interval inside a deadline loop
	}
}

// network creates a cilium network removed at cleanup.
func (nd *node) network(t *testing.T, name string, extra ...string) {
	t.Helper()
	args := append([]string{"network", "create", "--driver", "cilium", "--ipam-driver", "cilium"}, extra...)
	nd.must(t, append(args, name)...)
	t.Cleanup(func() { nd.bestEffort(t, "network", "rm", name) })
}

// run starts a detached busybox container removed at cleanup and returns its ID.
func (nd *node) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	base := []string{"run", "-d", "--pull", "never", "--init", "--name", name}
	id := nd.must(t, append(base, args...)...)
	t.Cleanup(func() { nd.bestEffort(t, "rm", "-f", name) })
	return id
}
