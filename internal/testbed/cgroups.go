package testbed

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroup2Magic is CGROUP2_SUPER_MAGIC, the statfs type of a cgroup2 mount.
const cgroup2Magic = 0x63677270

func isCgroup2(path string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(path, &st) == nil && st.Type == cgroup2Magic
}

// Cgroup2Root is the host's cgroup2 hierarchy (pure v2, or hybrid's "unified"), empty when there is none.
func Cgroup2Root() string {
	switch {
	case isCgroup2(cgroupRoot):
		return cgroupRoot
	case isCgroup2(cgroupRoot + "/unified"):
		return cgroupRoot + "/unified"
	}
	return ""
}

// cgroupGrace is how long RemoveNodeCgroups waits for a node's cgroup to empty.
const cgroupGrace = 3 * time.Second

// RemoveNodeCgroups removes the node's empty cgroups (dockerd's parent, the agent's subtree) in every
// hierarchy, deepest first; one still holding a process after cgroupGrace (a daemon just stopped leaves
// its cgroup once it is reaped) is left, and said so.
func (c Config) RemoveNodeCgroups(nd Node) {
	var roots []string
	for _, name := range []string{nd.CGDocker, nd.CGAgent} {
		m, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", name))
		roots = append(append(roots, m...), filepath.Join(cgroupRoot, name))
	}
	for _, root := range roots {
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			continue
		}
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.Reverse(dirs) // children before parents
		err := poll(context.Background(), cgroupGrace, func() (bool, error) {
			for _, d := range dirs {
				_ = syscall.Rmdir(d)
			}
			_, err := os.Stat(root)
			return err != nil, nil
		})
		if err != nil {
			c.logf("cgroup %s not empty, left", root)
		}
	}
}
