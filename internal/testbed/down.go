package testbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// Down tears node n down (idempotent); the last node down also removes the fabric. purge also deletes
// the node's directory, its logs included.
func (c Config) Down(n int, purge bool) error {
	nd, err := c.Node(n)
	if err != nil {
		return err
	}
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	err = c.down(nd)
	if err == nil && purge {
		err = os.RemoveAll(nd.Dir)
	}
	return err
}

// DownAll tears every node of the bed down, the highest first, then the fabric.
func (c Config) DownAll() error {
	t0 := time.Now()
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	ns := c.NodesLeft()
	slices.Reverse(ns)
	for _, n := range ns {
		nd, _ := c.Node(n)
		if derr := c.down(nd); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	if len(c.NodesLeft()) == 0 {
		err = errors.Join(err, c.TeardownFabric())
	}
	c.logf("down-all in %.2fs", time.Since(t0).Seconds())
	return err
}

// downStale cleans what a crashed or half-built node left before an up.
func (c Config) downStale(nd Node) error {
	if c.hasTraces(nd) {
		c.logf("cleaning stale node %d", nd.N)
		return c.down(nd)
	}
	return nil
}

// hasTraces reports whether node nd has a recorded daemon or a netns.
func (c Config) hasTraces(nd Node) bool {
	recs, _ := filepath.Glob(filepath.Join(nd.Dir, "*.pid"))
	return len(recs) > 0 || netnsExists(nd.NS)
}

// down tears node nd down under the lock: the node's containers and plugin networks, its daemons in
// reverse order by PID (thawed first: a frozen daemon blocks the cleanup), what is left in its netns,
// the holder, the netns, host mounts under its directory, its cgroups; the fabric with the last node.
func (c Config) down(nd Node) error {
	var err error
	if c.hasTraces(nd) {
		t0 := time.Now()
		if nd.N == 1 && slices.ContainsFunc(c.NodesLeft(), func(n int) bool { return n != 1 }) {
			c.logf("WARNING: node 1 holds etcd; other nodes lose their kvstore")
		}
		for _, d := range []string{"dockerd", "plugin", "agent", "etcd"} {
			thaw(nd, d)
		}
		st, _ := LoadState(nd)
		c.DockerCleanup(nd, st.PluginMode == ModeStack)
		for _, d := range []string{"dockerd", "plugin-logs", "plugin", "agent", "etcd"} {
			err = errors.Join(err, c.StopRecorded(nd, d))
		}
		c.Sweep(nd)
		err = errors.Join(err, c.StopRecorded(nd, "holder"))
		for _, f := range []string{"mntns", "node.json"} {
			if rmErr := os.Remove(filepath.Join(nd.Dir, f)); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
				err = errors.Join(err, rmErr)
			}
		}
		err = errors.Join(err, c.DeleteNetns(nd.NS))
		if ms := hostMountsUnder(nd.Dir); len(ms) > 0 {
			for _, m := range ms {
				if uerr := syscall.Unmount(m, syscall.MNT_DETACH); uerr != nil {
					err = errors.Join(err, fmt.Errorf("umount %s: %w", m, uerr))
				}
			}
			c.logf("unmounted host mounts under %s", nd.Dir)
		}
		c.RemoveNodeCgroups(nd)
		c.logf("node %d down in %.2fs", nd.N, time.Since(t0).Seconds())
	}
	if len(c.NodesLeft()) == 0 {
		err = errors.Join(err, c.TeardownFabric())
	}
	return err
}
