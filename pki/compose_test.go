package pki

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// composeDir is the repository's compose/ directory.
func composeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(filepath.Dir(file)), "compose")
}

// TestComposeReadsWhatNodeWrites ties the compose files to this package's layout: every service mounts
// the node's directory (DefaultDir/NAME unless CILIUM_DOCKER_PKI says otherwise) at MountDir, every file
// they name under MountDir is one that Node writes, and node 1's agent, with the default endpoint,
// reaches the etcd .env.example names (the plugin's ETCD_ADDRESS).
func TestComposeReadsWhatNodeWrites(t *testing.T) {
	_, dir := newNode(t)
	named := regexp.MustCompile(regexp.QuoteMeta(MountDir) + `/([A-Za-z0-9._-]+)`)
	// etcd (node2.yml: under the profile etcd), ranges, cilium-agent, cilium-docker.
	for file, services := range map[string]int{"node1.yml": 4, "node2.yml": 4} {
		b, err := os.ReadFile(filepath.Join(composeDir(), file))
		if err != nil {
			t.Fatal(err)
		}
		src := "source: ${CILIUM_DOCKER_PKI:-" + DefaultDir + "}/${NODE_NAME}\n        target: " + MountDir + "\n        read_only: true\n"
		if n := bytes.Count(b, []byte(src)); n != services {
			t.Errorf("compose/%s: %d services mount the node's directory read-only as\n%s\nwant all %d", file, n, src, services)
		}
		var files []string
		for _, m := range named.FindAllSubmatch(b, -1) {
			files = append(files, string(m[1]))
		}
		slices.Sort(files)
		files = slices.Compact(files)
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("compose/%s names %s/%s, which certs node does not write: %v", file, MountDir, f, err)
			}
		}
		for _, f := range []string{CACert, AgentEtcdConfig, EtcdServer + certSuffix, Plugin + keySuffix} {
			if file == "node1.yml" && !slices.Contains(files, f) {
				t.Errorf("compose/%s does not name %s/%s", file, MountDir, f)
			}
		}
	}

	env := map[string]string{}
	f, err := os.Open(filepath.Join(composeDir(), ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	if env["CILIUM_DOCKER_PKI"] != DefaultDir {
		t.Errorf(".env.example: CILIUM_DOCKER_PKI=%q, want certs' default %s", env["CILIUM_DOCKER_PKI"], DefaultDir)
	}
	r := node1(t)
	if env["NODE_NAME"] != r.Name.String() || env["NODE_IP"] != r.IP.String() {
		t.Fatalf(".env.example: node %s at %s, want the README's node1 at %s", env["NODE_NAME"], env["NODE_IP"], r.IP)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, AgentEtcdConfig))
	if err != nil {
		t.Fatal(err)
	}
	if want := "endpoints:\n  - \"" + env["ETCD_ADDRESS"] + "\"\n"; !bytes.Contains(cfg, []byte(want)) {
		t.Errorf("node1's %s:\n%s\nwant the endpoint ETCD_ADDRESS=%s of .env.example", AgentEtcdConfig, cfg, env["ETCD_ADDRESS"])
	}
}
