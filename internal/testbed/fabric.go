package testbed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ip runs ip(8) with args, its stderr in the error.
func ip(args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func ipAll(cmds ...[]string) error {
	for _, a := range cmds {
		if err := ip(a...); err != nil {
			return err
		}
	}
	return nil
}

func netnsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

func linkExists(ns, dev string) bool {
	return exec.Command("ip", "-n", ns, "link", "show", "dev", dev).Run() == nil
}

// EnsureFabric creates what is missing of the fabric: its netns with the bridge, the peer's netns with
// eth0 (the peer address) plugged into the bridge.
func (c Config) EnsureFabric() error {
	fab, peer := c.FabricNS(), c.PeerNS()
	if !netnsExists(fab) {
		if err := ipAll([]string{"netns", "add", fab}, []string{"-n", fab, "link", "set", "lo", "up"}); err != nil {
			return err
		}
		c.logf("created netns %s", fab)
	}
	if !linkExists(fab, bridge) {
		if err := ipAll([]string{"-n", fab, "link", "add", bridge, "type", "bridge"}, []string{"-n", fab, "link", "set", bridge, "up"}); err != nil {
			return err
		}
	}
	if !netnsExists(peer) {
		if err := ipAll([]string{"netns", "add", peer}, []string{"-n", peer, "link", "set", "lo", "up"}); err != nil {
			return err
		}
		c.logf("created netns %s (%s)", peer, peerIP)
	}
	if !linkExists(peer, "eth0") {
		return ipAll(
			[]string{"-n", peer, "link", "add", "eth0", "type", "veth", "peer", "name", "peer", "netns", fab},
			[]string{"-n", peer, "addr", "add", peerIP + "/24", "dev", "eth0"},
			[]string{"-n", peer, "link", "set", "eth0", "up"},
			[]string{"-n", fab, "link", "set", "peer", "master", bridge, "up"},
		)
	}
	return nil
}

// NodeNetwork creates the node's netns, its eth0 plugged into the bridge, its default route via the peer;
// with ipv6 the same in fd00:77::/64 (the peer gets its IPv6 address too), without DAD: usable at once.
func (c Config) NodeNetwork(nd Node, ipv6 bool) error {
	fab, peer := c.FabricNS(), c.PeerNS()
	if err := ipAll(
		[]string{"netns", "add", nd.NS},
		[]string{"-n", nd.NS, "link", "set", "lo", "up"},
		[]string{"-n", nd.NS, "link", "add", "eth0", "type", "veth", "peer", "name", nd.Port, "netns", fab},
		[]string{"-n", fab, "link", "set", nd.Port, "master", bridge, "up"},
		[]string{"-n", nd.NS, "addr", "add", nd.IP + "/24", "dev", "eth0"},
		[]string{"-n", nd.NS, "link", "set", "eth0", "up"},
		[]string{"-n", nd.NS, "route", "add", "default", "via", peerIP},
	); err != nil {
		return err
	}
	c.logf("netns %s: eth0 %s/24 via %s", nd.NS, nd.IP, peerIP)
	if !ipv6 {
		return nil
	}
	if err := ipAll(
		[]string{"-n", peer, "addr", "replace", peerIP6 + "/64", "dev", "eth0", "nodad"},
		[]string{"-n", nd.NS, "addr", "add", nd.IP6 + "/64", "dev", "eth0", "nodad"},
		[]string{"-n", nd.NS, "-6", "route", "add", "default", "via", peerIP6},
	); err != nil {
		return err
	}
	c.logf("netns %s: eth0 %s/64 via %s", nd.NS, nd.IP6, peerIP6)
	return nil
}

// NodesLeft are the nodes that still have a netns or a holder record, in ascending order.
func (c Config) NodesLeft() []int {
	var ns []int
	for n := 1; n <= 9; n++ {
		nd, _ := c.Node(n)
		_, err := os.Stat(filepath.Join(nd.Dir, "holder.pid"))
		if netnsExists(nd.NS) || err == nil {
			ns = append(ns, n)
		}
	}
	return ns
}

// DeleteNetns kills what is left in the netns ns (started by tests in it) and deletes it.
func (c Config) DeleteNetns(ns string) error {
	if !netnsExists(ns) {
		return nil
	}
	var left []Record
	for _, pid := range netnsPIDs(ns) {
		if st, err := readStat(pid); err == nil {
			left = append(left, Record{PID: pid, Start: st.Start})
		}
	}
	c.killAll("processes left in netns "+ns, left)
	if err := ip("netns", "del", ns); err != nil {
		return err
	}
	c.logf("deleted netns %s", ns)
	return nil
}

// TeardownFabric deletes the peer's and the fabric's netns and restores the host state.
func (c Config) TeardownFabric() error {
	for _, ns := range []string{c.PeerNS(), c.FabricNS()} {
		if err := c.DeleteNetns(ns); err != nil {
			return err
		}
	}
	return c.RestoreHost()
}
