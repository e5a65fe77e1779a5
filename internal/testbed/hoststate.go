package testbed

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// The host directories that must exist as (empty) mount points; each node mounts over them privately.
var hostMountPoints = []string{"/run/docker", "/run/containerd", "/run/cilium", "/etc/docker"}

const (
	sysTimerMigration = "/proc/sys/kernel/timer_migration"
	sysUnprivBPF      = "/proc/sys/kernel/unprivileged_bpf_disabled"
)

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// SaveHost records, at a node's up, the global sysctls the agent may change (once, at the first up) and
// creates the missing host mount points, recording them for RestoreHost.
func (c Config) SaveHost() error {
	saved := filepath.Join(c.Dir, "host.saved")
	if _, err := os.Stat(saved); errors.Is(err, os.ErrNotExist) {
		s := "timer_migration=" + readTrim(sysTimerMigration) + "\nunprivileged_bpf_disabled=" + readTrim(sysUnprivBPF) + "\n"
		if err := os.WriteFile(saved, []byte(s), 0o644); err != nil {
			return err
		}
	}
	for _, d := range hostMountPoints {
		if _, err := os.Stat(d); err == nil {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := appendLine(filepath.Join(c.Dir, "host.dirs"), d); err != nil {
			return err
		}
		c.logf("created empty host mount point %s", d)
	}
	return nil
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	return errors.Join(err, f.Close())
}

// RestoreHost sets back, at the last down, kernel.timer_migration, warns about a changed
// unprivileged_bpf_disabled (it cannot be set back), and removes the mount points SaveHost created
// unless another bed is up (they share them).
func (c Config) RestoreHost() error {
	saved := filepath.Join(c.Dir, "host.saved")
	if b, err := os.ReadFile(saved); err == nil {
		kv := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				kv[k] = v
			}
		}
		if tm := kv["timer_migration"]; tm != "" && readTrim(sysTimerMigration) != tm {
			if err := os.WriteFile(sysTimerMigration, []byte(tm+"\n"), 0o644); err != nil {
				return err
			}
			c.logf("restored kernel.timer_migration=%s", tm)
		}
		if ub, now := kv["unprivileged_bpf_disabled"], readTrim(sysUnprivBPF); ub != "" && now != ub {
			c.logf("WARNING: kernel.unprivileged_bpf_disabled is %s, was %s", now, ub)
		}
		if err := os.Remove(saved); err != nil {
			return err
		}
	}
	dirsFile := filepath.Join(c.Dir, "host.dirs")
	f, err := os.Open(dirsFile)
	if err != nil {
		return nil // none created
	}
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if d := strings.TrimSpace(sc.Text()); d != "" {
			dirs = append(dirs, d)
		}
	}
	f.Close()
	if c.otherBedsUp() {
		c.logf("another test bed is up: host mount points left in place")
		return nil
	}
	slices.Reverse(dirs)
	for _, d := range dirs {
		if err := os.Remove(d); err != nil {
			c.logf("left non-empty %s", d)
		}
	}
	return os.Remove(dirsFile)
}

var nodeNetns = regexp.MustCompile(`cdnode[1-9]$`)

// otherBedsUp reports whether another TESTBED_ID's node netns exists: the beds share the host mount points.
func (c Config) otherBedsUp() bool {
	ents, _ := os.ReadDir("/run/netns")
	own := regexp.MustCompile("^" + regexp.QuoteMeta(c.prefix()) + "cdnode[1-9]$")
	for _, e := range ents {
		if nodeNetns.MatchString(e.Name()) && !own.MatchString(e.Name()) {
			return true
		}
	}
	return false
}
