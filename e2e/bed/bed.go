package bed

import (
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

	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// Image is the busybox image the bed imports into every node.
const Image = testbed.TestImage

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

// theBed is the bed the tests run on (TESTBED_ID, TESTBED_DIR: the e2e runner gives each leg its own),
// its progress lines going to log. The steps the bed runs inside a node's namespaces are bin/testbed's
// (make build).
func theBed(log *bytes.Buffer) (testbed.Config, error) {
	c, err := testbed.Config{ID: os.Getenv("TESTBED_ID"), Dir: os.Getenv("TESTBED_DIR"), Log: log, Repo: RepoRoot(),
		Self: filepath.Join(RepoRoot(), "bin", "testbed")}.WithDefaults()
	if err != nil {
		return c, err
	}
	if fi, err := os.Stat(c.Self); err != nil || fi.Mode()&0o111 == 0 {
		return c, fmt.Errorf("the bed needs %s (make build)", c.Self)
	}
	return c, nil
}

// onBed runs f on the bed and returns its error with the bed's progress lines.
func onBed(f func(c testbed.Config) error) error {
	var log bytes.Buffer
	c, err := theBed(&log)
	if err == nil {
		err = f(c)
	}
	if err != nil {
		return fmt.Errorf("%w\n%s", err, log.String())
	}
	return nil
}

// execError is a command in a node (or the peer) that failed: its exit code and stderr.
type execError struct {
	argv   []string
	err    error
	stderr string
}

func (e *execError) Error() string {
	return fmt.Sprintf("exec %s: %v\n%s", strings.Join(e.argv, " "), e.err, e.stderr)
}

func (e *execError) Unwrap() error { return e.err }

// exitCode is the exit code of a command that ran and failed, -1 for any other error.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// stderrOf is the stderr of a failed command.
func stderrOf(err error) string {
	var ee *execError
	if errors.As(err, &ee) {
		return ee.stderr
	}
	return ""
}

// execOn runs argv in node n's namespaces (testbed.Peer: the peer's) within timeout and returns its
// stdout, or an *execError.
func execOn(timeout time.Duration, n int, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var cmd *exec.Cmd
	if err := onBed(func(c testbed.Config) (err error) {
		cmd, err = c.Command(ctx, n, argv...)
		return err
	}); err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &execError{argv: argv, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

// DownAll tears every node of the bed down.
func DownAll(t testing.TB) {
	t.Helper()
	if err := onBed(testbed.Config.DownAll); err != nil {
		t.Fatalf("leg %s: down-all: %v", MustLeg(), err)
	}
}

// Down tears node n down (idempotent), whether or not this test brought it up.
func Down(t testing.TB, n int) {
	t.Helper()
	if err := onBed(func(c testbed.Config) error { return c.Down(n, false) }); err != nil {
		t.Errorf("leg %s: down %d: %v", MustLeg(), n, err)
	}
}
