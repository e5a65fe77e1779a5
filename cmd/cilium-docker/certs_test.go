package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
)

func runArgs(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, cli.IO{Out: &out, Err: &errOut})
	return out.String() + errOut.String(), err
}

func TestCertsInitAndNode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	out, err := runArgs(t, "certs", "init", "--dir", dir)
	if err != nil {
		t.Fatalf("certs init: %v\n%s", err, out)
	}
	if !strings.Contains(out, filepath.Join(dir, "ca.key")) {
		t.Errorf("certs init printed %q, want the files it wrote", out)
	}
	_, err = runArgs(t, "certs", "init", "--dir", dir)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("certs init again: %v, want a refusal", err)
	}
	if code, _ := cli.ExitCode(err); code == 0 {
		t.Error("the refused certs init exits 0")
	}
	// flags after the arguments, as with the other subcommands
	out, err = runArgs(t, "certs", "node", "node1", "192.168.77.2", "--dir", dir, "--days", "30")
	if err != nil {
		t.Fatalf("certs node: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "node1", "cilium-agent.key")); err != nil {
		t.Error(err)
	}
	if _, err := runArgs(t, "certs", "node", "node1", "192.168.77.2", "--dir", dir); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("certs node again: %v, want a refusal naming --force", err)
	}
	if out, err := runArgs(t, "certs", "node", "--force", "node1", "192.168.77.2", "--dir", dir); err != nil {
		t.Errorf("certs node --force: %v\n%s", err, out)
	}
	out, err = runArgs(t, "certs", "node", "node2", "192.168.77.3", "--dir", dir, "--etcd-endpoints", "https://192.168.77.2:2379")
	if err != nil {
		t.Fatalf("certs node node2: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "node2", "etcd-config.yaml")); !strings.Contains(string(b), "https://192.168.77.2:2379") {
		t.Errorf("node2's agent config:\n%s\nwant node1's etcd", b)
	}
}

// Bad input is refused before anything is written.
func TestCertsNodeBadInputWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	if out, err := runArgs(t, "certs", "init", "--dir", dir); err != nil {
		t.Fatalf("certs init: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"Node_1", "192.168.77.2"},
		{"../node1", "192.168.77.2"},
		{"node1", "192.168.77"},
		{"node1", "0.0.0.0"},
		{"node1"},
		{"node1", "192.168.77.2", "extra"},
		{"node1", "192.168.77.2", "--days", "0"},
		{"node1", "192.168.77.2", "--etcd-endpoints", "http://192.168.77.2:2379"},
	} {
		if _, err := runArgs(t, append([]string{"certs", "node", "--dir", dir}, args...)...); err == nil {
			t.Errorf("certs node %v succeeded", args)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d entries in the PKI directory, want ca.crt and ca.key only", len(entries))
	}
	if _, err := runArgs(t, "certs", "bogus"); err == nil {
		t.Error("certs bogus succeeded")
	}
}
