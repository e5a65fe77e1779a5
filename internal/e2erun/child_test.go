package e2erun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/testkit"
)

func TestChildExitCodes(t *testing.T) {
	for _, tt := range []struct {
		script string
		rc     int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 128 + int(syscall.SIGTERM)},
	} {
		rc, err := child{argv: []string{"sh", "-c", tt.script}, deadline: time.Minute}.run(context.Background())
		if err != nil || rc != tt.rc {
			t.Errorf("%q: rc %d, %v; want %d", tt.script, rc, err, tt.rc)
		}
	}
	if _, err := (child{argv: []string{"/nonexistent/tool"}, deadline: time.Minute}).run(context.Background()); err == nil {
		t.Error("a child that cannot start: no error")
	}
}

func TestChildEnvAndOutput(t *testing.T) {
	var out bytes.Buffer
	c := child{argv: []string{"sh", "-c", "echo $E2E_LEG; echo err >&2"}, env: []string{"E2E_LEG=a", "E2E_LEG=b"}, stdout: &out, stderr: &out, deadline: time.Minute}
	if rc, err := c.run(context.Background()); err != nil || rc != 0 || out.String() != "b\nerr\n" {
		t.Errorf("rc %d, %v, output %q; want the last E2E_LEG and both streams", rc, err, out.String())
	}
}

// TestChildStoppedWithItsGroup: a child past its deadline is stopped with what it started (a
// grandchild that holds its output open), not left behind.
func TestChildStoppedWithItsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	var out bytes.Buffer
	start := time.Now()
	c := child{argv: []string{"sh", "-c", "sleep 300 & echo $! >" + pidFile + "; wait"}, stdout: &out, deadline: 300 * time.Millisecond}
	rc, err := c.run(context.Background())
	if err != nil || rc != 128+int(syscall.SIGTERM) {
		t.Errorf("rc %d, %v; want %d (SIGTERM)", rc, err, 128+int(syscall.SIGTERM))
	}
	if d := time.Since(start); d > stopGrace {
		t.Errorf("took %v, want the deadline and no WaitDelay", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// The grandchild was signalled with its group: gone, or a zombie until init reaps it.
	testkit.Eventually(t, 10*time.Second, "the grandchild stopped with its group", func() error {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return nil
		}
		return fmt.Errorf("grandchild %d still running: %s", pid, stat)
	})
}
