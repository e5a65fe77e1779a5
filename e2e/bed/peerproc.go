package bed

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/procstop"
)

// PeerAddAddress gives the peer's fabric interface one more address (CIDR form) for the test, and
// takes it away at cleanup.
func (nd *Node) PeerAddAddress(t testing.TB, cidr string) {
	t.Helper()
	if _, err := TryPeer(time.Minute, "ip", "addr", "add", cidr, "dev", "eth0"); err != nil {
		t.Fatalf("add peer address %s: %v", cidr, err)
	}
	t.Cleanup(func() {
		if _, err := TryPeer(time.Minute, "ip", "addr", "del", cidr, "dev", "eth0"); err != nil {
			t.Errorf("remove peer address %s: %v", cidr, err)
		}
	})
}

// PeerProcess starts args in the peer's netns, in the background, its output in log, and stops it by
// its PID at cleanup (SIGTERM, then SIGKILL). It returns the PID.
func (nd *Node) PeerProcess(t testing.TB, log string, args ...string) int {
	t.Helper()
	out, err := TryPeer(time.Minute, append([]string{"sh", "-c", `log=$1; shift; "$@" >"$log" 2>&1 </dev/null & echo $!`, "sh", log}, args...)...)
	if err != nil {
		t.Fatalf("start %v in the peer: %v", args, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("start %v in the peer: pid %q: %v", args, out, err)
	}
	t.Cleanup(func() { stopPID(t, pid) })
	return pid
}

// stopPID stops the process pid this test started (procstop.Stop: SIGTERM, then SIGKILL after 5 s).
// It is a child of the bed's shell, reaped by init: gone, or a zombie, once it exited.
func stopPID(t testing.TB, pid int) {
	p, err := os.FindProcess(pid) // a pidfd where the kernel has them: signals never reach a reused PID
	if err != nil {
		t.Errorf("stop pid %d: %v", pid, err)
		return
	}
	exited, stopped := make(chan struct{}), make(chan struct{})
	defer close(stopped)
	go func() { // owned by stopPID: ends when the process is gone or Stop has returned
		defer close(exited)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for testkit.Running(pid) {
			select {
			case <-stopped:
				return
			case <-tick.C:
			}
		}
	}()
	if _, err := procstop.Stop(p, 5*time.Second, exited); err != nil {
		t.Errorf("stop pid %d: %v", pid, err)
	}
}
