package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// StartHolder starts the long-lived holder of the node's private mount namespace (in the node's netns)
// and records it as "holder"; once it has unshared, its mount namespace goes to NODE_DIR/mntns.
func (c Config) StartHolder(nd Node) (int, error) {
	own, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return 0, err
	}
	r, err := c.detach("", "nsenter", "--net=/run/netns/"+nd.NS, "--",
		"unshare", "--mount", "--propagation", "private", "--", "sleep", "infinity")
	if err != nil {
		return 0, fmt.Errorf("mount namespace holder of node %d: %w", nd.N, err)
	}
	if err := writeRecord(nd.Dir, "holder", r); err != nil {
		return 0, err
	}
	pid := r.PID
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(pollEvery / 2)
	defer tick.Stop()
	for {
		mnt, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
		if err == nil && mnt != own {
			return pid, os.WriteFile(filepath.Join(nd.Dir, "mntns"), []byte(mnt+"\n"), 0o644)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("node %d: mount namespace holder did not unshare", nd.N)
		case <-tick.C:
		}
	}
}
