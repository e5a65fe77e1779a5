package testbed

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// mountStep is one mount(2) of a node's private mount namespace.
type mountStep struct {
	src, target, fstype string
	flags               uintptr
	data                string
}

// NodeMounts makes the node's mounts. It runs inside the node's fresh private mount namespace and
// netns (testbed _mounts, entered with nsenter): per-node copies of the directories dockerd and the
// agent hard-code. stack: the node gets a /run of its own (the compose stack mounts /var/run/docker.sock
// and /run/xtables.lock, which must not be the host's). resolv, when set, is bound over /etc/resolv.conf.
func NodeMounts(dir string, stack bool, resolv string) error {
	// Copies of /run/netns/* would keep other test netns alive after `ip netns del`: drop them here.
	if isMountpoint("/run/netns") {
		if err := syscall.Unmount("/run/netns", syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("umount /run/netns: %w", err)
		}
	}
	if stack {
		if err := mountAll(mountStep{"cdtb-run", "/run", "tmpfs", 0, "mode=0755"}); err != nil {
			return err
		}
		for _, d := range []string{"/run/docker", "/run/containerd", "/run/cilium"} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile("/run/xtables.lock", nil, 0o600); err != nil {
			return err
		}
	}
	// sysfs must be mounted again for this netns; the cgroup tree is kept across it.
	cgsave := filepath.Join(dir, "cgsave")
	if err := mountAll(
		mountStep{"/sys/fs/cgroup", cgsave, "", syscall.MS_BIND | syscall.MS_REC, ""},
		mountStep{"sysfs", "/sys", "sysfs", 0, ""},
		mountStep{cgsave, "/sys/fs/cgroup", "", syscall.MS_BIND | syscall.MS_REC, ""},
	); err != nil {
		return err
	}
	if err := syscall.Unmount(cgsave, syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("umount %s: %w", cgsave, err)
	}
	if err := mountAll(
		mountStep{"bpffs", "/sys/fs/bpf", "bpf", 0, ""},
		mountStep{"cdtb-docker", "/run/docker", "tmpfs", 0, "mode=0755"},
	); err != nil {
		return err
	}
	if err := os.MkdirAll("/run/docker/plugins", 0o755); err != nil {
		return err
	}
	steps := []mountStep{
		{filepath.Join(dir, "plugins"), "/run/docker/plugins", "", syscall.MS_BIND, ""},
		{"cdtb-containerd", "/run/containerd", "tmpfs", 0, "mode=0711"},
		{filepath.Join(dir, "cilium-run"), "/run/cilium", "", syscall.MS_BIND, ""},
		{"cdtb-etc-docker", "/etc/docker", "tmpfs", 0, "mode=0755"},
		// Global kernel.* sysctls (timer_migration, unprivileged_bpf_disabled, keys limits) stay untouched:
		// the agent ignores the write error, dockerd only warns.
		{"/proc/sys/kernel", "/proc/sys/kernel", "", syscall.MS_BIND, ""},
		{"", "/proc/sys/kernel", "", syscall.MS_REMOUNT | syscall.MS_BIND | syscall.MS_RDONLY, ""},
	}
	if resolv != "" {
		steps = append(steps, mountStep{resolv, "/etc/resolv.conf", "", syscall.MS_BIND, ""})
	}
	return mountAll(steps...)
}

func mountAll(steps ...mountStep) error {
	for _, m := range steps {
		if err := syscall.Mount(m.src, m.target, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mount %s on %s (%s): %w", m.src, m.target, m.fstype, err)
		}
	}
	return nil
}

// mountPoints are the mount points of the calling process's mount namespace.
func mountPoints() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var ps []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) > 4 {
			ps = append(ps, unescapeMount(fs[4]))
		}
	}
	return ps
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline and backslash.
func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

func isMountpoint(path string) bool { return slices.Contains(mountPoints(), path) }

// hostMountsUnder are the host's mount points under dir, deepest first.
func hostMountsUnder(dir string) []string {
	var ps []string
	for _, p := range mountPoints() {
		if strings.HasPrefix(p, dir+"/") {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	slices.Reverse(ps)
	return ps
}

// resolvWithIPv6 is the host's resolv.conf with an IPv6 nameserver added last, as on a dual-stack host:
// Docker reserves it against unrequested IPv6 pools.
func resolvWithIPv6(host, ns6 string) string {
	var other, ns []string
	for _, l := range strings.Split(strings.TrimRight(host, "\n"), "\n") {
		if strings.HasPrefix(l, "nameserver") {
			ns = append(ns, l)
		} else if l != "" {
			other = append(other, l)
		}
	}
	return strings.Join(append(append(other, ns...), "nameserver "+ns6), "\n") + "\n"
}
