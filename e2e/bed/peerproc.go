package bed

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PeerAddAddress gives the peer's fabric interface one more address (CIDR form) for the test, and
// takes it away at cleanup.
func (nd *Node) PeerAddAddress(t testing.TB, cidr string) {
	t.Helper()
	nd.bed(t, "exec", "peer", "ip", "addr", "add", cidr, "dev", "eth0")
	t.Cleanup(func() {
		if _, err := script(time.Minute, nil, "exec", "peer", "ip", "addr", "del", cidr, "dev", "eth0"); err != nil {
			t.Errorf("remove peer address %s: %v", cidr, err)
		}
	})
}

// PeerProcess starts args in the peer's netns, in the background, its output in log, and stops it by
// its PID at cleanup (SIGTERM, then SIGKILL). It returns the PID.
func (nd *Node) PeerProcess(t testing.TB, log string, args ...string) int {
	t.Helper()
	out := nd.bed(t, append([]string{"exec", "peer", "sh", "-c", `log=$1; shift; "$@" >"$log" 2>&1 </dev/null & echo $!`, "sh", log}, args...)...)
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("start %v in the peer: pid %q: %v", args, out, err)
	}
	t.Cleanup(func() { stopPID(t, pid) })
	return pid
}

// stopPID stops the process pid this test started: SIGTERM, then SIGKILL after 5 s.
func stopPID(t testing.TB, pid int) {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if !errors.Is(err, syscall.ESRCH) {
			t.Errorf("stop pid %d: %v", pid, err)
		}
		return
	}
	gone := func() error {
		// A child of the bed's shell, reaped by init: gone, or a zombie, once it exited.
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return nil
		}
		return fmt.Errorf("pid %d still runs", pid)
	}
	deadline := time.Now().Add(5 * time.Second)
	for gone() != nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
