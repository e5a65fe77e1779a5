package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// AgentWrap runs in the node as the first step of the agent's start (testbed _agent CGDIR MNT AGENT
// ARGS...): it moves itself into the agent's cgroup2 subtree cgdir (empty: none), then becomes
// `unshare --cgroup -- SELF _agent2 MNT AGENT ARGS...`, so that the agent has a cgroup namespace
// rooted there. It returns only on error; the PID stays the one the bed recorded.
func AgentWrap(self, cgdir string, rest []string) error {
	if cgdir != "" {
		if err := os.WriteFile(filepath.Join(cgdir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return fmt.Errorf("agent cgroup %s: %w", cgdir, err)
		}
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return err
	}
	argv := append([]string{"unshare", "--cgroup", "--", self, "_agent2"}, rest...)
	return syscall.Exec(unshare, argv, os.Environ())
}

// AgentWrap2 runs in the agent's new cgroup namespace (testbed _agent2 MNT AGENT ARGS...): it mounts
// cgroup2 on MNT, the agent's --cgroup-root (mounted already by an earlier start of this node's agent),
// and becomes the agent.
func AgentWrap2(mnt string, argv []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("agent wrapper: no agent command")
	}
	if !isMountpoint(mnt) {
		if err := syscall.Mount("none", mnt, "cgroup2", 0, ""); err != nil {
			return fmt.Errorf("mount cgroup2 on %s: %w", mnt, err)
		}
	}
	return syscall.Exec(argv[0], argv, os.Environ())
}
