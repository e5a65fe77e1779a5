package e2erun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

// fakeBuildScripts puts the leg's build scripts into a checkout of their own: each marks in started
// that it ran, then runs body(name, started, how many scripts there are). It returns the checkout.
func fakeBuildScripts(t *testing.T, leg string, body func(name, started string, n int) string) string {
	t.Helper()
	repo := t.TempDir()
	started := filepath.Join(repo, "started")
	for _, d := range []string{filepath.Join(repo, "scripts"), started} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	steps, err := buildSteps(leg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		name := filepath.Base(s[0])
		script := fmt.Sprintf("#!/bin/sh\ntouch %s/%s\n%s\n", started, name, body(name, started, len(steps)))
		if err := os.WriteFile(filepath.Join(repo, "scripts", name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// waitForAll is a script body that polls, up to 20 s, until n scripts have started, and exits 7 if
// they do not: one after the other, the first never sees the others.
func waitForAll(_, started string, n int) string {
	return fmt.Sprintf("i=0\nwhile [ $(ls %s | wc -l) -lt %d ]; do i=$((i+1)); [ $i -gt 200 ] && exit 7; sleep 0.1; done\nexit 0", started, n)
}

// TestBuildLegSideBySide: a leg's build scripts run at once.
func TestBuildLegSideBySide(t *testing.T) {
	leg := matrix.LegCurrent
	repo := fakeBuildScripts(t, leg, waitForAll)
	var stderr bytes.Buffer
	r := &runner{cfg: Config{Repo: repo}}
	if err := r.buildLeg(context.Background(), leg, false, &stderr); err != nil {
		t.Fatalf("buildLeg: %v (%s)", err, stderr.String())
	}
}

// TestBuildLegFirstFailureStops: a failing script's exit is the error, and the others stop with it
// instead of running on.
func TestBuildLegFirstFailureStops(t *testing.T) {
	leg := matrix.LegCurrent
	repo := fakeBuildScripts(t, leg, func(name, _ string, _ int) string {
		if name == "build-etcd.sh" {
			return "exit 3"
		}
		return "exec sleep 300"
	})
	start := time.Now()
	r := &runner{cfg: Config{Repo: repo}}
	err := r.buildLeg(context.Background(), leg, false, nil)
	if err == nil || !strings.Contains(err.Error(), "scripts/build-etcd.sh: exit 3") {
		t.Fatalf("buildLeg: %v; want build-etcd.sh's exit 3", err)
	}
	if d := time.Since(start); d > stopGrace {
		t.Errorf("took %v: the other builds were not stopped", d)
	}
}
