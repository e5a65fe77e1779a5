package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// unwritablePolicyDirs are policy directories in which no file can be created, by what makes them so.
var unwritablePolicyDirs = []struct {
	name     string
	prepare  func(t *testing.T, dir string) // makes dir what the row says
	needUser bool                           // root writes anyway: the row runs only as another user
}{
	{name: "missing", prepare: func(*testing.T, string) {}},
	{name: "a regular file", prepare: func(t *testing.T, dir string) {
		if err := os.WriteFile(dir, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "read-only", needUser: true, prepare: func(t *testing.T, dir string) {
		if err := os.Mkdir(dir, 0o555); err != nil {
			t.Fatal(err)
		}
	}},
}

// TestRunRefusesUnwritablePolicyDir: a --policy-dir in which the plugin cannot create a file (under
// systemd: ProtectSystem=strict without ReadWritePaths=) fails the start, saying what to add.
func TestRunRefusesUnwritablePolicyDir(t *testing.T) {
	bin := t.TempDir() // a policy binary whose sync --validate accepts every flag
	if err := os.WriteFile(filepath.Join(bin, cliflags.PolicyBinary), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	for _, tt := range unwritablePolicyDirs {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needUser && os.Geteuid() == 0 {
				t.Skip("root writes into a mode 0555 directory")
			}
			a := agenttest.NewStopped(t)
			dir := servertest.ShortDir(t)
			policies := filepath.Join(dir, "policies")
			tt.prepare(t, policies)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				errc <- run(ctx, []string{"--docker-plugins", dir, "--docker-host-path", "unix://" + dir + "/docker.sock",
					"--cilium-api", a.Addr(), "--reconcile-interval", "0",
					"--policy-dir", policies, "--etcd-endpoints", "http://127.0.0.1:1"}, cli.IO{Out: io.Discard, Err: io.Discard})
			}()
			var err error
			select {
			case err = <-errc:
			case <-time.After(3 * time.Second):
				cancel()
				err = <-errc
				t.Errorf("run started (returned %v after its context ended), want the start refused", err)
			}
			if err == nil || !strings.HasPrefix(err.Error(), "--policy-dir: ") || !strings.Contains(err.Error(), "ReadWritePaths="+policies) {
				t.Errorf("run: got %v, want a --policy-dir error that says ReadWritePaths=%s", err, policies)
			}
			if _, serr := os.Lstat(filepath.Join(dir, "cilium.sock")); serr == nil {
				t.Error("the plugin socket was created before the refusal")
			}
		})
	}
}

// TestPolicyDirWritable: the probe finds each unwritable directory, and leaves a writable one as it was.
func TestPolicyDirWritable(t *testing.T) {
	for _, tt := range unwritablePolicyDirs {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needUser && os.Geteuid() == 0 {
				t.Skip("root writes into a mode 0555 directory")
			}
			dir := filepath.Join(t.TempDir(), "policies")
			tt.prepare(t, dir)
			err := policyDirWritable(dir)
			if err == nil {
				t.Fatalf("policyDirWritable(%s): got nil, want an error", tt.name)
			}
			for _, want := range []string{dir + " is not writable", "ReadWritePaths=" + dir, "systemctl edit cilium-docker.service"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("policyDirWritable: %q lacks %q", err, want)
				}
			}
		})
	}
	t.Run("writable", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "cilium-docker.x.yaml"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := policyDirWritable(dir); err != nil {
			t.Fatalf("policyDirWritable: %v", err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "cilium-docker.x.yaml" {
			t.Errorf("after the probe the directory holds %v, want only cilium-docker.x.yaml", entries)
		}
	})
}
