package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Daemons are the node daemons the verbs stop, start, signal and name.
var Daemons = []string{"etcd", "agent", "plugin", "dockerd"}

// checkDaemon validates a daemon name.
func checkDaemon(d string) error {
	if !slices.Contains(Daemons, d) {
		return fmt.Errorf("daemon %q: want etcd, agent, plugin or dockerd", d)
	}
	return nil
}

// upNode is node n, which must be up (have its holder).
func (c Config) upNode(n int) (Node, error) {
	nd, err := c.Node(n)
	if err != nil {
		return nd, err
	}
	if _, ok := RecordedPID(nd.Dir, "holder"); !ok {
		return nd, fmt.Errorf("node %d: %w", n, ErrNotUp)
	}
	return nd, nil
}

// withUpNode runs f on node n under the bed's lock, the node up.
func (c Config) withUpNode(n int, daemon string, f func(Node) error) error {
	if daemon != "" {
		if err := checkDaemon(daemon); err != nil {
			return err
		}
	}
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	nd, err := c.upNode(n)
	if err != nil {
		return err
	}
	return f(nd)
}

// Stop stops node n's daemon by PID: SIGTERM, then SIGKILL after the grace.
func (c Config) Stop(n int, daemon string) error {
	return c.withUpNode(n, daemon, func(nd Node) error { return c.StopRecorded(nd, daemon) })
}

// Start starts node n's stopped daemon again with its recorded arguments and waits until it is healthy.
func (c Config) Start(n int, daemon string) error {
	return c.withUpNode(n, daemon, func(nd Node) error { return c.startAgain(nd, daemon) })
}

// Restart stops node n's daemon, then starts it again.
func (c Config) Restart(n int, daemon string) error {
	return c.withUpNode(n, daemon, func(nd Node) error {
		if err := c.StopRecorded(nd, daemon); err != nil {
			return err
		}
		return c.startAgain(nd, daemon)
	})
}

// SignalDaemon sends sig to node n's daemon by its recorded PID (STOP and CONT freeze and thaw it).
func (c Config) SignalDaemon(n int, daemon string, sig syscall.Signal) error {
	return c.withUpNode(n, daemon, func(nd Node) error { return c.Signal(nd, daemon, sig) })
}

// PID is the PID of node n's running daemon; ok is false when it does not run.
func (c Config) PID(n int, daemon string) (int, bool, error) {
	if err := checkDaemon(daemon); err != nil {
		return 0, false, err
	}
	nd, err := c.Node(n)
	if err != nil {
		return 0, false, err
	}
	pid, ok := RecordedPID(nd.Dir, daemon)
	return pid, ok, nil
}

// startAgain starts a stopped daemon with its recorded argv and waits until it is healthy.
func (c Config) startAgain(nd Node, name string) error {
	b, err := os.ReadFile(filepath.Join(nd.Dir, name+".argv"))
	if err != nil {
		return fmt.Errorf("node %d has no recorded %s command: %w", nd.N, name, err)
	}
	if _, ok := RecordedPID(nd.Dir, name); ok {
		return fmt.Errorf("%s[n%d] is running", name, nd.N)
	}
	argv := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	marker := fmt.Sprintf("==== testbed: %s started again at %s ====", name, time.Now().Format(time.RFC3339))
	if err := appendLine(filepath.Join(nd.Dir, name+".log"), marker); err != nil {
		return err
	}
	if _, err := c.Launch(nd, name, argv, true); err != nil {
		return err
	}
	return c.waitHealthy(nd, name, DefaultTimeouts)
}

// waitHealthy waits until the node's daemon answers as healthy.
func (c Config) waitHealthy(nd Node, name string, t Timeouts) error {
	label := fmt.Sprintf("%s[n%d]", name, nd.N)
	switch name {
	case "etcd":
		return c.waitFor(nd, "etcd", t.Etcd, name, func() bool { return EtcdHealthy(nd, nd.EtcdURL) })
	case "agent":
		return c.waitFor(nd, fmt.Sprintf("cilium-agent[n%d]", nd.N), t.Agent, name, func() bool { return AgentOK(nd) })
	case "plugin":
		return c.waitFor(nd, label, t.Plugin, name, func() bool { return PluginOK(nd) })
	case "dockerd":
		return c.waitFor(nd, label, t.Dockerd, name, func() bool { return DockerdOK(nd) })
	}
	return fmt.Errorf("unknown daemon %q", name)
}

// Replace replaces node n's cilium-agent in place by cilium version's (built when missing): same state
// dir and flags; it waits until the new agent is healthy and records the version in the node's state.
func (c Config) Replace(n int, version string) (State, error) {
	if !ciliumVersion.MatchString(version) {
		return State{}, fmt.Errorf("cilium version %q is not a version", version)
	}
	dir, err := c.ResolveCilium(version) // built, when missing, before the lock is taken
	if err != nil {
		return State{}, err
	}
	var st State
	err = c.withUpNode(n, "", func(nd Node) error {
		t0 := time.Now()
		if st, err = LoadState(nd); err != nil {
			return err
		}
		if err := c.ReplaceAgent(nd, version, dir, st.CiliumDir); err != nil {
			return err
		}
		st.CiliumVersion, st.CiliumDir, st.CiliumDbg = version, dir, filepath.Join(dir, "bin", "cilium-dbg")
		if err := st.save(nd); err != nil {
			return err
		}
		if err := c.waitHealthy(nd, "agent", DefaultTimeouts); err != nil {
			return err
		}
		c.logf("cilium-agent[n%d] replaced by %s in %.2fs", nd.N, version, time.Since(t0).Seconds())
		return nil
	})
	return st, err
}
