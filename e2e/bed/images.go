package bed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// LoadStackImages puts the stack's images into the node's dockerd under the compose files' names: the
// agent of each version (quay.io/cilium/cilium:vX), etcd and the plugin image of the binary under test
// (scripts/build-images.sh, offline, cached by version).
func (nd *Node) LoadStackImages(t testing.TB, cilium ...string) {
	t.Helper()
	if err := nd.loadStackImages(t, cilium); err != nil {
		t.Fatal(err)
	}
}

// LoadStackImagesOn loads the stack's images of each node's own agent version into every node at once
// (a `docker load` per dockerd; build-images.sh locks only its builds), failing after all of them ended.
func LoadStackImagesOn(t testing.TB, nodes ...*Node) {
	t.Helper()
	start := time.Now()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = nd.loadStackImages(t, []string{nd.Leg.Cilium})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("stack images on %d nodes at once in %s", len(nodes), time.Since(start).Round(100*time.Millisecond))
}

// loadStackImages runs build-images.sh against the node's dockerd and logs what it did; t only logs, so
// it may run in a goroutine of its own.
func (nd *Node) loadStackImages(t testing.TB, cilium []string) error {
	start := time.Now()
	env := []string{"DOCKER_HOST=" + nd.env["DOCKER_HOST"], "DOCKER=" + dockerCLI, "PLUGIN_BIN=" + PluginBin()}
	if len(cilium) > 0 {
		env = append(env, "CILIUM_VERSIONS="+strings.Join(cilium, " "))
	}
	out, err := run(30*time.Minute, env, filepath.Join(RepoRoot(), "scripts", "build-images.sh"))
	if err != nil {
		return fmt.Errorf("node %d: %w", nd.N, err)
	}
	t.Logf("leg %s: node %d: stack images in %s\n%s", nd.Leg, nd.N, time.Since(start).Round(100*time.Millisecond), out)
	return nil
}

// mustRun runs a host command with env added, failing the test on error, and returns its stdout.
func mustRun(t testing.TB, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	out, err := run(timeout, env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// run runs a host command with env added and returns its stdout; the error carries its output.
func run(timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}
