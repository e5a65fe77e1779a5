package testbed

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// Launch starts argv as the node's daemon name: inside the node's mount namespace (its holder's) and
// netns, in a session of its own, its output appended to NODE_DIR/NAME.log, its PID recorded. The
// process outlives the caller. With record, argv is also kept (NUL-separated, NODE_DIR/NAME.argv) for
// StartAgain.
func (c Config) Launch(nd Node, name string, argv []string, record bool) (int, error) {
	if len(argv) == 0 {
		return 0, errors.New("launch: no command")
	}
	h, ok := RecordedPID(nd.Dir, "holder")
	if !ok {
		return 0, fmt.Errorf("node %d has no mount namespace holder", nd.N)
	}
	if record {
		var b bytes.Buffer
		for _, a := range argv {
			b.WriteString(a)
			b.WriteByte(0)
		}
		if err := os.WriteFile(filepath.Join(nd.Dir, name+".argv"), b.Bytes(), 0o644); err != nil {
			return 0, err
		}
	}
	ns := append([]string{"--mount=/proc/" + strconv.Itoa(h) + "/ns/mnt", "--net=/run/netns/" + nd.NS, "--"}, argv...)
	r, err := c.detach(filepath.Join(nd.Dir, name+".log"), "nsenter", ns...)
	if err != nil {
		return 0, fmt.Errorf("launch %s[n%d]: %w", name, nd.N, err)
	}
	if err := writeRecord(nd.Dir, name, r); err != nil {
		return 0, err
	}
	c.logf("started %s[n%d] pid %d", name, nd.N, r.PID)
	return r.PID, nil
}

// detach starts name args in a new session, stdin /dev/null, stdout and stderr appended to logPath
// (or /dev/null when empty), and lets it go, returning its record (read before it can be reaped): it holds no descriptor of the caller's but the standard
// three (not the bed's lock, nor a lock or pipe of whoever runs the bed, which would be held open after).
func (c Config) detach(logPath, name string, args ...string) (Record, error) {
	if err := CloseOnExecAll(); err != nil {
		return Record{}, err
	}
	out := os.DevNull
	flag := os.O_WRONLY
	if logPath != "" {
		out, flag = logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND
	}
	f, err := os.OpenFile(out, flag, 0o644)
	if err != nil {
		return Record{}, err
	}
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Record{}, err
	}
	r := Record{PID: cmd.Process.Pid}
	st, err := readStat(r.PID) // a child not yet waited for: there, a zombie at worst
	r.Start = st.Start
	go func() { _ = cmd.Wait() }() // reaped here while the caller lives, by init after
	return r, err
}

// CloseOnExecAll marks every descriptor above the standard three close-on-exec: Go's own are, those
// inherited from a shell (the bed's lock, fd 9) are not. The bed's children (daemons, builds, ip) then
// hold none of them.
func CloseOnExecAll() error {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
	return nil
}
