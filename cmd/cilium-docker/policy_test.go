package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
)

// TestPolicyRunsPolicyBinary: `cilium-docker policy ARGS` runs cilium-docker-policy ARGS from PATH (none
// beside the test binary) with stdin and outputs, its exit code the plugin's, nothing added to its output.
func TestPolicyRunsPolicyBinary(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"argv0=$0 args=$*\"\nread line; echo \"stdin=$line\"\necho oops >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(dir, cliflags.PolicyBinary), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	var out, errb bytes.Buffer
	err := runPolicy(context.Background(), []string{"apply", "x.json"}, strings.NewReader("hello\n"), &out, &errb)
	code, report := cli.ExitCode(err)
	if code != 3 || report {
		t.Errorf("exit code %d, report %v (%v), want 3 and nothing more to print", code, report, err)
	}
	// sh sets $0 to the script's path, not argv[0]: the binary's own progName sees argv[0].
	if want := "args=apply x.json\nstdin=hello\n"; !strings.Contains(out.String(), want) || errb.String() != "oops\n" {
		t.Errorf("stdout %q, stderr %q; want %q and the child's stderr", out.String(), errb.String(), want)
	}
}

func TestPolicyBinaryMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out bytes.Buffer
	err := run(context.Background(), []string{"policy", "list"}, cli.IO{Out: &out, Err: &out})
	code, report := cli.ExitCode(err)
	if code != 1 || !report || err == nil || !strings.Contains(err.Error(), "cilium-docker-policy not found") {
		t.Fatalf("got exit %d report %v: %v; want 1 and a clear error", code, report, err)
	}
}

func TestPolicySyncNeedsPolicyBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir := t.TempDir()
	var out bytes.Buffer
	err := run(context.Background(), []string{"--docker-plugins", dir, "--policy-dir", dir, "--etcd-endpoints", "http://127.0.0.1:1"}, cli.IO{Out: &out, Err: &out})
	if err == nil || !strings.Contains(err.Error(), "--policy-dir: cilium-docker-policy not found") {
		t.Fatalf("plugin with --policy-dir and no policy binary: %v, want it refused at start", err)
	}
	if _, serr := os.Stat(filepath.Join(dir, "cilium.sock")); serr == nil {
		t.Fatal("the plugin socket was created before the refusal")
	}
}

// TestNodeRunsPolicyBinary: `cilium-docker node ARGS` runs `cilium-docker-policy node ARGS` (the node
// ranges live in etcd, which only the policy binary links), argv[0] "cilium-docker", its exit code the
// plugin's (a usage error's 2 too).
func TestNodeRunsPolicyBinary(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"args=$*\"\nexit 2\n"
	if err := os.WriteFile(filepath.Join(dir, cliflags.PolicyBinary), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	var out bytes.Buffer
	err := run(context.Background(), []string{"node", "remove", "node3", "--force"}, cli.IO{In: strings.NewReader(""), Out: &out, Err: &out})
	if code, report := cli.ExitCode(err); code != 2 || report {
		t.Errorf("exit code %d, report %v (%v), want the child's 2 and nothing more to print", code, report, err)
	}
	if want := "args=node remove node3 --force\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	t.Setenv("PATH", t.TempDir())
	err = run(context.Background(), []string{"node", "list"}, cli.IO{Out: &out, Err: &out})
	if code, _ := cli.ExitCode(err); code != 1 || !strings.HasPrefix(err.Error(), "node: cilium-docker-policy not found") {
		t.Errorf("node without the policy binary: exit %d, %v; want 1 and a clear error", code, err)
	}
}
