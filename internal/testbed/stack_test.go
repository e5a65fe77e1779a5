package testbed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStackEnv(t *testing.T) {
	c := Config{Dir: "/tmp/cdtb"}
	nd, _ := c.Node(2)
	st := State{Name: nd.NS, IP: nd.IP, PodRange: nd.PodRange, CiliumVersion: "1.20.2"}
	env, err := StackEnv(st, []string{"192.168.77.2", "192.168.77.3"}, "/pki")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"NODE_NAME": "cdnode2", "NODE_IP": "192.168.77.3", "NODE_DEVICE": "eth0",
		"POD_RANGE": "10.72.0.0/16", "ETCD_ADDRESS": "https://192.168.77.2:2379,https://192.168.77.3:2379",
		"CILIUM_DOCKER_PKI": "/pki", "CILIUM_VERSION": "1.20.2"} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	memlock, err := AgentMemlock()
	if err != nil || env["CILIUM_AGENT_MEMLOCK"] != memlock {
		t.Errorf("CILIUM_AGENT_MEMLOCK = %q, AgentMemlock %q, %v", env["CILIUM_AGENT_MEMLOCK"], memlock, err)
	}
}

// NewStack copies compose/ as the node's project (node1.yml on node 1, node2.yml on the others) and
// writes its .env sorted; a change is written again by WriteEnv.
func TestNewStack(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "compose"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "compose", "node1.yml"), []byte("services: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Config{Dir: t.TempDir(), Repo: repo}
	for n, file := range map[int]string{1: "node1.yml", 3: "node2.yml"} {
		dir := filepath.Join(t.TempDir(), "p")
		s, err := c.NewStack(n, dir, map[string]string{"B": "2", "A": "1"})
		if err != nil {
			t.Fatal(err)
		}
		if s.File != file || s.Dir != dir {
			t.Errorf("node %d: %+v", n, s)
		}
		if _, err := os.Stat(filepath.Join(dir, "node1.yml")); err != nil {
			t.Errorf("node %d: compose/ not copied: %v", n, err)
		}
		s.Env["A"] = "x"
		if err := s.WriteEnv(); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, ".env"))
		if !strings.HasSuffix(string(b), "\nA=x\nB=2\n") {
			t.Errorf("node %d .env:\n%s", n, b)
		}
	}
	if _, err := c.NewStack(10, t.TempDir()+"/x", nil); err == nil {
		t.Error("node 10: no error")
	}
}
