package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
)

// fakePolicyBinary writes a policy binary that records its arguments and stdin into dir and answers
// answer with exit code code.
func fakePolicyBinary(t *testing.T, answer string, code int) (bin, dir string) {
	t.Helper()
	dir = t.TempDir()
	bin = filepath.Join(dir, "cilium-docker-policy")
	script := "#!/bin/sh\necho \"$@\" >> " + dir + "/args\ncat > " + dir + "/stdin\ncat <<'EOF'\n" + answer + "\nEOF\nexit " +
		string(rune('0'+code)) + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cluster(context.Context) (string, error) { return "c1", nil }

// TestEgressPoliciesLocal: without etcd the allow-list goes into the node's directory with apply
// --local, and goes with delete --local; a delete of one that is gone is success.
func TestEgressPoliciesLocal(t *testing.T) {
	bin, dir := fakePolicyBinary(t, `[{"key": "cilium-docker-egress-x", "file": "-", "path": "/p/f.yaml"}]`, 0)
	e := &egressPolicies{bin: bin, cfg: &Config{PolicyDir: "/p"}, cluster: cluster}
	if err := e.Apply(context.Background(), "cilium-docker-egress-x", "doc\n"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir+"/stdin"); got != "doc\n" {
		t.Errorf("stdin: %q", got)
	}
	if got := readFile(t, dir+"/args"); got != "apply --json --cluster-name=c1 --local --policy-dir=/p -\n" {
		t.Errorf("args: %q", got)
	}
	bin, dir = fakePolicyBinary(t, `[{"key": "cilium-docker-egress-x", "found": false}]`, 1)
	e.bin = bin
	if err := e.Delete(context.Background(), "cilium-docker-egress-x"); err != nil {
		t.Errorf("delete of a policy that is gone: %v", err)
	}
	if got := readFile(t, dir+"/args"); got != "delete --json --local --policy-dir=/p cilium-docker-egress-x\n" {
		t.Errorf("args: %q", got)
	}
}

// TestEgressPoliciesEtcd: in etcd, Apply returns once the node's sync reported the stored revision;
// a refusal comes back with the parser's reason.
func TestEgressPoliciesEtcd(t *testing.T) {
	bin, dir := fakePolicyBinary(t, `[{"key": "cilium-docker-egress-x", "file": "-", "revision": 7}]`, 0)
	sync := &policySync{}
	sync.line([]byte(mustReport(t, syncreport.Stats{Revision: 6})))
	cfg := &Config{PolicyDir: "/p", Etcd: cliflags.Etcd{Endpoints: "http://127.0.0.1:2379"}}
	e := &egressPolicies{bin: bin, cfg: cfg, cluster: cluster, sync: sync}
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := e.Apply(short, "cilium-docker-egress-x", "doc\n"); err == nil || !strings.Contains(err.Error(), "revision 7") {
		t.Fatalf("Apply while the sync is at revision 6: %v, want it waiting for revision 7", err)
	}
	sync.line([]byte(mustReport(t, syncreport.Stats{Revision: 7})))
	if err := e.Apply(context.Background(), "cilium-docker-egress-x", "doc\n"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir+"/args"); !strings.HasPrefix(got, "apply --json --cluster-name=c1 --etcd-endpoints") || strings.Contains(got, "--local") {
		t.Errorf("args: %q", got)
	}

	e.bin, _ = fakePolicyBinary(t, `{"refused": [{"file": "-", "error": "spec: bad port"}]}`, 1)
	if err := e.Apply(context.Background(), "cilium-docker-egress-x", "doc\n"); err == nil || !strings.Contains(err.Error(), "spec: bad port") {
		t.Errorf("refused Apply: %v, want the parser's reason", err)
	}
}

func mustReport(t *testing.T, s syncreport.Stats) string {
	t.Helper()
	var b strings.Builder
	if err := syncreport.Write(&b, s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(b.String())
}

// TestEgressPoliciesList: List reads the names of `list --json`, in the node's directory or in etcd
// (an empty store answers null); a failed or garbled answer is an error, never an empty list.
func TestEgressPoliciesList(t *testing.T) {
	etcd := &Config{PolicyDir: "/p", Etcd: cliflags.Etcd{Endpoints: "http://127.0.0.1:2379"}}
	for _, tt := range []struct {
		name, answer string
		code         int
		cfg          *Config
		sync         *policySync
		want         string
		wantErr      bool
	}{
		{"local", `[{"key": "a", "path": "/p/a"}, {"key": "b", "path": "/p/b"}]`, 0, &Config{PolicyDir: "/p"}, nil, "a b", false},
		{"local empty", `null`, 0, &Config{PolicyDir: "/p"}, nil, "", false},
		{"etcd", `{"policies": [{"key": "a", "revision": 3, "nodes": []}], "nodes": []}`, 0, etcd, &policySync{}, "a", false},
		{"etcd empty", `{"policies": null, "nodes": null}`, 0, etcd, &policySync{}, "", false},
		{"etcd garbled", `{"nodes": []}`, 0, etcd, &policySync{}, "", true},
		{"fails", `etcd unreachable`, 1, etcd, &policySync{}, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin, dir := fakePolicyBinary(t, tt.answer, tt.code)
			e := &egressPolicies{bin: bin, cfg: tt.cfg, cluster: cluster, sync: tt.sync}
			got, err := e.List(context.Background())
			if (err != nil) != tt.wantErr || strings.Join(got, " ") != tt.want {
				t.Errorf("List: %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if args := readFile(t, dir+"/args"); !strings.HasPrefix(args, "list --json ") {
				t.Errorf("args: %q", args)
			}
		})
	}
}
