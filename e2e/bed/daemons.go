package bed

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// Down tears the node down.
func (nd *Node) Down(t testing.TB) {
	t.Helper()
	nd.bed(t, "down", func(c testbed.Config) error { return c.Down(nd.N, false) })
}

// bed runs a step on the bed, failing the test on error.
func (nd *Node) bed(t testing.TB, what string, f func(c testbed.Config) error) {
	t.Helper()
	if err := onBed(f); err != nil {
		t.Fatalf("leg %s: node %d: %s: %v", nd.Leg, nd.N, what, err)
	}
}

// daemonStep is a bed verb on one of the node's daemons.
func (nd *Node) daemonStep(t testing.TB, what string, d Daemon, f func(testbed.Config, int, string) error) {
	t.Helper()
	nd.bed(t, what+" "+string(d), func(c testbed.Config) error { return f(c, nd.N, string(d)) })
}

// Stop stops daemon d by PID (SIGTERM, then SIGKILL after a grace period).
func (nd *Node) Stop(t testing.TB, d Daemon) {
	t.Helper()
	nd.daemonStep(t, "stop", d, testbed.Config.Stop)
}

// Start starts a stopped daemon d again with the same arguments and waits until it is healthy.
func (nd *Node) Start(t testing.TB, d Daemon) {
	t.Helper()
	nd.daemonStep(t, "start", d, testbed.Config.Start)
}

// Restart stops daemon d and starts it again (the agent: health Ok; dockerd: its API answers).
func (nd *Node) Restart(t testing.TB, d Daemon) {
	t.Helper()
	nd.daemonStep(t, "restart", d, testbed.Config.Restart)
}

// Freeze stops daemon d with SIGSTOP; Thaw continues it. A frozen daemon is thawed when the node goes down.
func (nd *Node) Freeze(t testing.TB, d Daemon) { t.Helper(); nd.signal(t, d, syscall.SIGSTOP) }

// Thaw continues a frozen daemon d (SIGCONT).
func (nd *Node) Thaw(t testing.TB, d Daemon) { t.Helper(); nd.signal(t, d, syscall.SIGCONT) }

// Kill kills daemon d with SIGKILL; Start brings it back.
func (nd *Node) Kill(t testing.TB, d Daemon) { t.Helper(); nd.signal(t, d, syscall.SIGKILL) }

func (nd *Node) signal(t testing.TB, d Daemon, sig syscall.Signal) {
	t.Helper()
	nd.daemonStep(t, "signal", d, func(c testbed.Config, n int, name string) error { return c.SignalDaemon(n, name, sig) })
}

// ReplaceAgent replaces the node's cilium-agent in place by version's (same state dir and flags) and
// waits until it is healthy; the plugin keeps running.
func (nd *Node) ReplaceAgent(t testing.TB, version string) {
	t.Helper()
	var st testbed.State
	nd.bed(t, "replace-agent "+version, func(c testbed.Config) (err error) {
		st, err = c.Replace(nd.N, version)
		return err
	})
	nd.env = st.EnvMap()
	if got := nd.env["CILIUM_VERSION"]; got != version {
		t.Fatalf("leg %s: node %d runs cilium %s after replace-agent %s", nd.Leg, nd.N, got, version)
	}
}

// PID is the PID of the running daemon d.
func (nd *Node) PID(t testing.TB, d Daemon) int {
	t.Helper()
	var pid int
	nd.bed(t, "pid "+string(d), func(c testbed.Config) error {
		p, ok, err := c.PID(nd.N, string(d))
		if err == nil && !ok {
			err = fmt.Errorf("%s does not run", d)
		}
		pid = p
		return err
	})
	return pid
}
