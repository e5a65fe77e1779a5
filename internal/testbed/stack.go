package testbed

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Stack is one node's compose project, as a user deploys the stack on a host: a copy of the
// repository's compose/ directory with the node's .env, run with `docker compose -f FILE` in the node's
// namespaces against its dockerd (a node up in ModeStack runs only dockerd: etcd, cilium-agent and the
// plugin are that dockerd's containers).
type Stack struct {
	N    int
	Dir  string            // the project directory on the host
	File string            // node1.yml on node 1, node2.yml on the others
	Env  map[string]string // its .env
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

// StackEnv is the .env compose/README.md asks for on node st: its name, address, device and range (by
// hand), the cluster's etcd members at etcdIPs, the certificates of `cilium-docker certs` in pki, the
// agent's version, and CILIUM_AGENT_MEMLOCK where the bed's dockerd cannot raise the limit
// (AgentMemlock).
func StackEnv(st State, etcdIPs []string, pki string) (map[string]string, error) {
	env := map[string]string{
		"NODE_NAME": st.Name, "NODE_IP": st.IP, "NODE_DEVICE": "eth0", "POD_RANGE": st.PodRange,
		"ETCD_ADDRESS": EtcdURLs(etcdIPs), "CILIUM_DOCKER_PKI": pki, "CILIUM_VERSION": st.CiliumVersion,
	}
	memlock, err := AgentMemlock()
	if err != nil {
		return nil, fmt.Errorf("the agent's memlock limit: %w", err)
	}
	if memlock != "" {
		env["CILIUM_AGENT_MEMLOCK"] = memlock // .env.example: a dockerd that cannot raise the limit
	}
	return env, nil
}

// NewStack copies the repository's compose/ into dir (which must not exist) as node n's project and
// writes env as its .env.
func (c Config) NewStack(n int, dir string, env map[string]string) (*Stack, error) {
	if _, err := c.Node(n); err != nil {
		return nil, err
	}
	if err := copyTree(filepath.Join(c.Repo, "compose"), dir); err != nil {
		return nil, err
	}
	s := &Stack{N: n, Dir: dir, File: "node2.yml", Env: env}
	if n == 1 {
		s.File = "node1.yml"
	}
	return s, s.WriteEnv()
}

// EnvLines are the project's .env lines, KEY=VALUE sorted by key.
func (s *Stack) EnvLines() []string {
	var ls []string
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		ls = append(ls, k+"="+s.Env[k])
	}
	return ls
}

// WriteEnv writes the project's .env from s.Env; the next `up` applies a change (an agent upgrade by its
// image tag, say).
func (s *Stack) WriteEnv() error {
	b := fmt.Sprintf("# written by the test bed for node %d\n%s\n", s.N, strings.Join(s.EnvLines(), "\n"))
	return os.WriteFile(filepath.Join(s.Dir, ".env"), []byte(b), 0o644)
}

// ComposeConfig builds `docker compose` (compose v2 from its Go module, cached by version,
// scripts/build-compose.sh) when missing and returns the DOCKER_CONFIG directory whose cli-plugins
// holds it.
func (c Config) ComposeConfig() (string, error) { return c.build("build-compose.sh") }

// Compose is `docker compose --project-directory DIR -f FILE ARGS...` of s, in the node's namespaces
// against its dockerd, with dockerConfig (ComposeConfig) as DOCKER_CONFIG, bound to ctx.
func (c Config) Compose(ctx context.Context, s *Stack, dockerConfig string, args ...string) (*exec.Cmd, error) {
	argv := append([]string{"env", "DOCKER_CONFIG=" + dockerConfig, "docker", "compose",
		"--project-directory", s.Dir, "-f", filepath.Join(s.Dir, s.File)}, args...)
	return c.Command(ctx, s.N, argv...)
}
