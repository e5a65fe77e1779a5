package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// llvmBin holds the clang and llc the agent compiles its datapath with.
const llvmBin = "/usr/lib/llvm-19/bin"

// Agent is how a node's cilium-agent runs: its version's cache directory (scripts/build-cilium.sh:
// bin/cilium-agent, bin/cilium-dbg, lib/bpf), the shared flags (compose/agent-config), IPv6, whose API
// rate limits ("stack": the config dir's, raised; "agent": the agent's own defaults), extra flags.
type Agent struct {
	CiliumDir string
	ConfigDir string
	IPv6      bool
	Limits    string
	Args      []string
}

// AgentFlags are the flags the bed gives cilium-agent on node nd with confDir as its --config-dir: the
// compose service's (deploy's TestComposeFiles holds them equal) but for the paths only the bed moves
// (--lib-dir, --state-dir, --bpf-root spelled out) and the kvstore given as a URL.
func AgentFlags(nd Node, confDir string, ipv6 bool, extra []string) []string {
	f := []string{"--config-dir=" + confDir,
		"--ipv4-node=" + nd.IP, "--ipv4-range=" + nd.PodRange, "--devices=eth0",
		"--kvstore-opt=etcd.address=" + nd.EtcdURL,
		"--lib-dir=" + filepath.Join(nd.Dir, "lib"), "--state-dir=/var/run/cilium", "--bpf-root=/sys/fs/bpf",
		"--cgroup-root=" + filepath.Join(nd.Dir, "cgroup2"), "--static-cnp-path=" + filepath.Join(nd.Dir, "policies")}
	if ipv6 { // a bed option: compose runs IPv4 only
		f = append(f, "--enable-ipv6=true", "--ipv6-node="+nd.IP6, "--ipv6-range="+nd.Range6)
	}
	return append(f, extra...)
}

// ResolveCilium is the cache directory of cilium version (built when missing).
func (c Config) ResolveCilium(version string) (string, error) {
	d, err := c.build("build-cilium.sh", version)
	if err != nil {
		return "", err
	}
	fi, statErr := os.Stat(filepath.Join(d, "lib", "bpf"))
	if !executable(filepath.Join(d, "bin", "cilium-agent")) || !executable(filepath.Join(d, "bin", "cilium-dbg")) || statErr != nil || !fi.IsDir() {
		return "", fmt.Errorf("cilium %s cache incomplete in %q", version, d)
	}
	return d, nil
}

// ResolveEtcd is the etcd server of the version go.mod pins (built when missing).
func (c Config) ResolveEtcd() (string, error) {
	bin, err := c.build("build-etcd.sh")
	if err == nil && !executable(bin) {
		err = fmt.Errorf("etcd build failed: %q (scripts/build-etcd.sh)", bin)
	}
	return bin, err
}

// build runs scripts/NAME with args (its progress on c.Log) and returns its last line.
func (c Config) build(name string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.Repo, "scripts", name), args...)
	cmd.Stderr = c.Log
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return lastLine(string(out)), nil
}

// WriteCiliumCLI writes the node's `cilium` (and `cilium-dbg`) for `exec`: cilium-dbg of ciliumDir
// talking to the node's agent.
func WriteCiliumCLI(nd Node, ciliumDir string) error {
	bin := filepath.Join(nd.Dir, "bin")
	script := fmt.Sprintf("#!/bin/sh\nexec \"%s/bin/cilium-dbg\" -H \"unix://%s/cilium-run/cilium.sock\" \"$@\"\n", ciliumDir, nd.Dir)
	if err := os.WriteFile(filepath.Join(bin, "cilium"), []byte(script), 0o755); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(bin, "cilium-dbg"))
	return os.Symlink("cilium", filepath.Join(bin, "cilium-dbg"))
}

// StartEtcd launches the cluster's etcd on node nd (node 1), its argv recorded.
func (c Config) StartEtcd(nd Node, bin string) error {
	_, err := c.Launch(nd, "etcd", []string{bin, "--name", "cdtb", "--data-dir", filepath.Join(nd.Dir, "etcd"), "--logger", "zap",
		"--listen-client-urls", "http://127.0.0.1:2379,http://" + nd.IP + ":2379",
		"--advertise-client-urls", "http://" + nd.IP + ":2379",
		"--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
		"--initial-cluster", "cdtb=http://127.0.0.1:2380"}, true)
	return err
}

// EtcdHealthy reports whether etcd at url answers healthy from inside the node's netns.
func EtcdHealthy(nd Node, url string) bool {
	out, err := exec.Command("nsenter", "--net=/run/netns/"+nd.NS, "--", "curl", "-sf", "--max-time", "2", url+"/health").Output()
	return err == nil && bytes.Contains(out, []byte(`"health":"true"`))
}

// AgentSocket is the node's agent API socket on the host.
func (nd Node) AgentSocket() string { return filepath.Join(nd.Dir, "cilium-run", "cilium.sock") }

// AgentOK reports whether the node's agent reports its health Ok.
func AgentOK(nd Node) bool {
	b, err := unixDo(nd.AgentSocket(), http.MethodGet, "/v1/healthz", 2*time.Second)
	var h struct {
		Cilium struct{ State string } `json:"cilium"`
	}
	return err == nil && json.Unmarshal(b, &h) == nil && h.Cilium.State == "Ok"
}

// StartAgent launches the node's cilium-agent through the agent wrapper (testbed _agent, AgentWrap: its
// own cgroup2 subtree and cgroup namespace, a private cgroup2 mount), its argv recorded.
func (c Config) StartAgent(nd Node, a Agent) error {
	cgdir := ""
	if root := Cgroup2Root(); root != "" {
		cgdir = filepath.Join(root, nd.CGAgent)
		if err := os.MkdirAll(cgdir, 0o755); err != nil {
			return err
		}
	} else {
		c.logf("WARNING: no cgroup2 hierarchy found; the agent sees the whole cgroup tree")
	}
	if err := copyTree(filepath.Join(a.CiliumDir, "lib", "bpf"), filepath.Join(nd.Dir, "lib", "bpf")); err != nil {
		return err
	}
	confDir, err := AgentConfigDir(nd, a)
	if err != nil {
		return err
	}
	argv := append(append(append([]string{"env"}, AgentEnv(nd)...), c.Self, "_agent", cgdir,
		filepath.Join(nd.Dir, "cgroup2"), filepath.Join(a.CiliumDir, "bin", "cilium-agent")),
		AgentFlags(nd, confDir, a.IPv6, a.Args)...)
	_, err = c.Launch(nd, "agent", argv, true)
	return err
}

// AgentEnv is the environment the bed adds for the node's agent: clang and llc on PATH, and the node's
// name (K8S_NODE_NAME, only a name while enable-k8s=false), else every agent would be the hostname and
// they would collide in etcd.
func AgentEnv(nd Node) []string {
	return []string{"PATH=" + llvmBin + ":" + os.Getenv("PATH"), "K8S_NODE_NAME=" + nd.NS}
}

// AgentConfigDir is the agent's --config-dir: a.ConfigDir, or for Limits "agent" a copy in the node's
// directory without its api-rate-limit.
func AgentConfigDir(nd Node, a Agent) (string, error) {
	if a.Limits != "agent" {
		return a.ConfigDir, nil
	}
	d := filepath.Join(nd.Dir, "agent-config")
	if err := os.RemoveAll(d); err != nil {
		return "", err
	}
	if err := copyTree(a.ConfigDir, d); err != nil {
		return "", err
	}
	return d, os.Remove(filepath.Join(d, "api-rate-limit"))
}

// copyTree copies directory src to dst (cp -r: dst must not exist).
func copyTree(src, dst string) error {
	if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -r %s %s: %w: %s", src, dst, err, out)
	}
	return nil
}

// ReplaceAgent stops the node's agent by PID and starts dir's cilium-agent (cilium version) with the
// same state dir and flags: its recorded argv with the agent binary swapped, the datapath sources
// (--lib-dir) of the new version, the node's `cilium` CLI of the new version. It does not wait for health.
func (c Config) ReplaceAgent(nd Node, version, dir, oldDir string) error {
	argvPath := filepath.Join(nd.Dir, "agent.argv")
	b, err := os.ReadFile(argvPath)
	if err != nil {
		return fmt.Errorf("node %d has no recorded agent command: %w", nd.N, err)
	}
	argv := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	oldBin, newBin := filepath.Join(oldDir, "bin", "cilium-agent"), filepath.Join(dir, "bin", "cilium-agent")
	i := slices.Index(argv, oldBin)
	if i < 0 && !slices.Contains(argv, newBin) {
		return fmt.Errorf("recorded agent command of node %d does not run %s", nd.N, oldBin)
	}
	if i >= 0 {
		argv[i] = newBin
	}
	if err := c.StopRecorded(nd, "agent"); err != nil {
		return err
	}
	lib := filepath.Join(nd.Dir, "lib", "bpf")
	if err := os.RemoveAll(lib); err != nil {
		return err
	}
	if err := copyTree(filepath.Join(dir, "lib", "bpf"), lib); err != nil {
		return err
	}
	if err := WriteCiliumCLI(nd, dir); err != nil {
		return err
	}
	marker := fmt.Sprintf("==== testbed: agent replaced by cilium %s at %s ====\n", version, time.Now().Format(time.RFC3339))
	if err := appendLine(filepath.Join(nd.Dir, "agent.log"), strings.TrimSuffix(marker, "\n")); err != nil {
		return err
	}
	_, err = c.Launch(nd, "agent", argv, true)
	return err
}

// unixDo makes one HTTP request to the API on socket, with timeout, and returns its 200 body.
func unixDo(socket, method, path string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return buf.Bytes(), err
}
