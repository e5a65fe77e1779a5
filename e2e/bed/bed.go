package bed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Image is the busybox image the bed imports into every node.
const Image = "cdbusybox:latest"

// exitVersionMismatch is testbed.sh up's exit code when the node is up with other versions.
const exitVersionMismatch = 4

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// PluginBin is the plugin binary under test: PLUGIN_BIN, else bin/cilium-docker (make build).
func PluginBin() string {
	if p := os.Getenv("PLUGIN_BIN"); p != "" {
		return p
	}
	return filepath.Join(RepoRoot(), "bin", "cilium-docker")
}

// SkipUnlessBed skips under -short and when not root: the e2e tests need the real test bed.
func SkipUnlessBed(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("e2e: needs root")
	}
}

// script runs scripts/testbed.sh with env added to the test's environment and returns its stdout and,
// on failure, an error carrying its stderr.
func script(timeout time.Duration, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(), "scripts", "testbed.sh"), args...)
	cmd.Env = append(append(os.Environ(), "PLUGIN_BIN="+PluginBin()), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &scriptError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type scriptError struct {
	args   []string
	err    error
	stderr string
}

func (e *scriptError) Error() string {
	return fmt.Sprintf("testbed.sh %s: %v\n%s", strings.Join(e.args, " "), e.err, e.stderr)
}

func (e *scriptError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// parseEnv reads KEY=VALUE lines.
func parseEnv(s string) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			env[k] = strings.Trim(v, `"'`)
		}
	}
	return env
}

// DownAll tears every node of the bed down.
func DownAll(t testing.TB) {
	t.Helper()
	if _, err := script(5*time.Minute, nil, "down-all"); err != nil {
		t.Fatalf("leg %s: %v", MustLeg(), err)
	}
}

// Down tears node n down (idempotent), whether or not this test brought it up.
func Down(t testing.TB, n int) {
	t.Helper()
	if _, err := script(5*time.Minute, nil, "down", fmt.Sprint(n)); err != nil {
		t.Errorf("leg %s: %v", MustLeg(), err)
	}
}
