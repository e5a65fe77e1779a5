package testbed

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nodeProcesses are the PIDs in the node's mount namespace, netns or cgroups: the children of its
// daemons and what tests ran in it.
func nodeProcesses(nd Node) []int {
	mnt := ""
	if b, err := os.ReadFile(nd.Dir + "/mntns"); err == nil {
		mnt = strings.TrimSpace(string(b))
	}
	netIno, hasNet := inode("/run/netns/" + nd.NS)
	cg := regexp.MustCompile(":/(" + regexp.QuoteMeta(nd.CGDocker) + "|" + regexp.QuoteMeta(nd.CGAgent) + ")(/|$)")
	var pids []int
	for _, pid := range allPIDs() {
		p := "/proc/" + strconv.Itoa(pid)
		if l, err := os.Readlink(p + "/ns/mnt"); mnt != "" && err == nil && l == mnt {
			pids = append(pids, pid)
			continue
		}
		if b, err := os.ReadFile(p + "/cgroup"); err == nil && cg.Match(b) {
			pids = append(pids, pid)
			continue
		}
		if ino, ok := inode(p + "/ns/net"); hasNet && ok && ino == netIno {
			pids = append(pids, pid)
		}
	}
	return pids
}

// netnsPIDs are the PIDs whose netns is the named one (ip netns pids).
func netnsPIDs(ns string) []int {
	netIno, ok := inode("/run/netns/" + ns)
	if !ok {
		return nil
	}
	var pids []int
	for _, pid := range allPIDs() {
		if ino, ok := inode("/proc/" + strconv.Itoa(pid) + "/ns/net"); ok && ino == netIno {
			pids = append(pids, pid)
		}
	}
	return pids
}

func allPIDs() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// inode is the device and inode of path (a namespace file), as one comparable value.
func inode(path string) ([2]uint64, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return [2]uint64{}, false
	}
	return [2]uint64{st.Dev, st.Ino}, true
}

// Sweep kills what is left of the node once its recorded daemons stopped, but its namespace holder, this
// process and zombies (they wait for their reaper).
func (c Config) Sweep(nd Node) {
	holder, _ := RecordedPID(nd.Dir, "holder")
	var left []Record
	for _, pid := range nodeProcesses(nd) {
		if pid == os.Getpid() || pid == os.Getppid() || pid == holder {
			continue
		}
		if st, err := readStat(pid); err == nil && st.State != "Z" {
			left = append(left, Record{PID: pid, Start: st.Start})
		}
	}
	c.killAll("leftover processes of node "+strconv.Itoa(nd.N), left)
}

// killAll sends SIGKILL to each process of recs and waits (up to 2 s) until they are gone.
func (c Config) killAll(what string, recs []Record) {
	if len(recs) == 0 {
		return
	}
	pids := make([]string, 0, len(recs))
	for _, r := range recs {
		pids = append(pids, strconv.Itoa(r.PID))
		if p, err := os.FindProcess(r.PID); err == nil && r.alive() {
			_ = p.Kill()
			_ = p.Release()
		}
	}
	c.logf("killing %s: %s", what, strings.Join(pids, " "))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tick := time.NewTicker(pollEvery / 2)
	defer tick.Stop()
	for slices.ContainsFunc(recs, Record.alive) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
