package pki

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestNodeFiles(t *testing.T) {
	d, dir := newNode(t)
	if want := filepath.Join(d.Path, "node1"); dir != want {
		t.Fatalf("node directory %s, want %s", dir, want)
	}
	want := map[string]os.FileMode{"": fs.ModeDir | 0o700, CACert: 0o644, AgentEtcdConfig: 0o644}
	for _, role := range []string{EtcdServer, Agent, Plugin, Policy} {
		want[role+".crt"], want[role+".key"] = 0o644, 0o600
	}
	got := map[string]os.FileMode{}
	for p, m := range listTree(t, dir) {
		rel, _ := filepath.Rel(dir, p)
		got[strings.TrimPrefix(rel, ".")] = m
	}
	for f, m := range want {
		if got[f] != m {
			t.Errorf("%q: mode %v, want %v", f, got[f], m)
		}
	}
	if len(got) != len(want) {
		t.Errorf("files %v, want %v", got, want)
	}
	if _, err := os.Lstat(filepath.Join(dir, CAKey)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the CA key in the node's directory: %v", err)
	}
	ca, _ := os.ReadFile(filepath.Join(d.Path, CACert))
	if cp, _ := os.ReadFile(filepath.Join(dir, CACert)); string(cp) != string(ca) {
		t.Error("the node's ca.crt differs from the CA's")
	}
	entries, _ := os.ReadDir(d.Path)
	if len(entries) != 3 {
		t.Errorf("PKI directory holds %d entries, want ca.crt, ca.key, node1 (no temporary left)", len(entries))
	}
}

// The agent's etcd.config names the files where the services mount them and the node's etcd.
func TestAgentEtcdConfig(t *testing.T) {
	_, dir := newNode(t)
	b, err := os.ReadFile(filepath.Join(dir, AgentEtcdConfig))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Endpoints     []string `json:"endpoints"`
		TrustedCAFile string   `json:"trusted-ca-file"`
		CertFile      string   `json:"cert-file"`
		KeyFile       string   `json:"key-file"`
	}
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if !slices.Equal(c.Endpoints, []string{"https://192.168.77.2:2379"}) || c.TrustedCAFile != MountDir+"/ca.crt" ||
		c.CertFile != MountDir+"/cilium-agent.crt" || c.KeyFile != MountDir+"/cilium-agent.key" {
		t.Errorf("agent etcd config %+v", c)
	}
}

// A node that uses another node's etcd names it in its agent's configuration.
func TestAgentEtcdConfigOtherEndpoints(t *testing.T) {
	d := newCA(t)
	r := node1(t)
	r.Endpoints = []string{"https://192.168.77.2:2379", "https://[fd00::2]:2379"}
	res, err := d.Node(testNow(), r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(res.Dir, AgentEtcdConfig))
	var c struct{ Endpoints []string }
	if err := yaml.Unmarshal(b, &c); err != nil || !slices.Equal(c.Endpoints, r.Endpoints) {
		t.Errorf("endpoints %v (%v), want %v", c.Endpoints, err, r.Endpoints)
	}
}

func TestNodeRefusesAnExistingNode(t *testing.T) {
	d, dir := newNode(t)
	before := listTree(t, d.Path)
	key, _ := os.ReadFile(filepath.Join(dir, Agent+".key"))
	_, err := d.Node(testNow(), node1(t))
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Node again: %v, want an error wrapping fs.ErrExist that names --force", err)
	}
	if after := listTree(t, d.Path); len(after) != len(before) {
		t.Errorf("%d paths after the refusal, want %d", len(after), len(before))
	}
	if again, _ := os.ReadFile(filepath.Join(dir, Agent+".key")); string(again) != string(key) {
		t.Error("the refused call changed a key")
	}
}

func TestNodeForceRenews(t *testing.T) {
	d, dir := newNode(t)
	before, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := readCert(t, filepath.Join(dir, EtcdServer+".crt"))
	oldKey, _ := os.ReadFile(filepath.Join(dir, Agent+".key"))
	r := node1(t)
	r.Force = true
	if _, err := d.Node(testNow().Add(24*3600e9), r); err != nil {
		t.Fatalf("Node --force: %v", err)
	}
	// The same directory, new files: a running container's bind mount of it sees them (etcd reads its
	// certificate at each handshake); a directory renamed over it would leave the mount on the old one.
	if after, err := os.Lstat(dir); err != nil || !os.SameFile(before, after) {
		t.Errorf("the node's directory was replaced (%v), want its files replaced", err)
	}
	renewed := readCert(t, filepath.Join(dir, EtcdServer+".crt"))
	if renewed.SerialNumber.Cmp(old.SerialNumber) == 0 || !renewed.NotAfter.After(old.NotAfter) {
		t.Errorf("renewed serial %v until %v; old %v until %v", renewed.SerialNumber, renewed.NotAfter, old.SerialNumber, old.NotAfter)
	}
	if k, _ := os.ReadFile(filepath.Join(dir, Agent+".key")); string(k) == string(oldKey) {
		t.Error("the agent's key was not renewed")
	}
	if entries, _ := os.ReadDir(d.Path); len(entries) != 3 {
		t.Errorf("PKI directory holds %d entries after renewal, want 3", len(entries))
	}
}

func TestNodeNeedsTheCA(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	if _, err := d.Node(testNow(), node1(t)); err == nil || !strings.Contains(err.Error(), "certs init") {
		t.Fatalf("Node without a CA: %v, want an error pointing at certs init", err)
	}
	if entries, _ := os.ReadDir(d.Path); len(entries) != 0 {
		t.Errorf("%d entries written, want none", len(entries))
	}
}

// A certificate outliving its CA would stop verifying at the CA's expiry, before its own: refused.
func TestNodeRefusesToOutliveTheCA(t *testing.T) {
	d := newCA(t)
	r := node1(t)
	r.Days = 3651
	if _, err := d.Node(testNow(), r); err == nil {
		t.Fatal("a leaf outliving the CA was issued")
	}
	if entries, _ := os.ReadDir(d.Path); len(entries) != 2 {
		t.Errorf("%d entries, want ca.crt and ca.key only", len(entries))
	}
}

func TestParseNodeName(t *testing.T) {
	for _, ok := range []string{"node1", "a", "n-1", strings.Repeat("a", 63)} {
		if _, err := ParseNodeName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Node1", "-a", "a-", "a.b", "../x", "a/b", ".", strings.Repeat("a", 64), "nöde"} {
		if _, err := ParseNodeName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseNodeIP(t *testing.T) {
	for _, ok := range []string{"192.168.77.2", "10.0.0.1", "fd00::2", "2001:db8::1"} {
		if _, err := ParseNodeIP(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "node1", "192.168.77", "0.0.0.0", "::", "224.0.0.1", "255.255.255.255",
		"fe80::1%eth0", "192.168.77.2/24"} {
		if _, err := ParseNodeIP(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if ip, err := ParseNodeIP("::ffff:192.168.77.2"); err != nil || ip != netip.MustParseAddr("192.168.77.2") {
		t.Errorf("IPv4-mapped: %v %v, want 192.168.77.2", ip, err)
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, ok := range []string{"https://192.168.77.2:2379", "https://[fd00::2]:2379", "https://etcd.example:2379"} {
		if _, err := ParseEndpoint(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://192.168.77.2:2379", "192.168.77.2:2379", "https://192.168.77.2",
		"https://u@192.168.77.2:2379", "https://192.168.77.2:2379/x", "https://:2379"} {
		if _, err := ParseEndpoint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
