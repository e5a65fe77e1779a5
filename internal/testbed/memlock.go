package testbed

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// capSysResource is CAP_SYS_RESOURCE's bit in a /proc status capability set (linux/capability.h).
const capSysResource = 24

// AgentMemlock is the compose stack's agent memlock limit for this host, as .env's CILIUM_AGENT_MEMLOCK:
// empty (the compose files' default, unlimited) where the bed's dockerd can raise the limit, else the hard
// limit it has. dockerd runs with the bed's limits and capabilities, this process's: without
// CAP_SYS_RESOURCE in the bounding set (some sandboxes) nothing can raise the hard limit, and runc fails the
// agent's start with "error setting rlimit type 8" when asked for more. On kernels from 5.11 on the agent
// needs no memlock (BPF memory is charged to the cgroup), so the bed's limit does.
func AgentMemlock() (string, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^CapBnd:\s*([0-9a-f]+)$`).FindSubmatch(status)
	if m == nil {
		return "", fmt.Errorf("no CapBnd in /proc/self/status")
	}
	bnd, err := strconv.ParseUint(string(m[1]), 16, 64)
	if err != nil {
		return "", fmt.Errorf("CapBnd %q: %w", m[1], err)
	}
	if bnd&(1<<capSysResource) != 0 {
		return "", nil
	}
	limits, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return "", err
	}
	l := regexp.MustCompile(`(?m)^Max locked memory\s+(\S+)\s+(\S+)\s`).FindSubmatch(limits)
	if l == nil {
		return "", fmt.Errorf("no locked memory limit in /proc/self/limits")
	}
	if hard := string(l[2]); !strings.EqualFold(hard, "unlimited") {
		return hard, nil
	}
	return "", nil
}
