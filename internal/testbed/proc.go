package testbed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procStat is what the bed reads of /proc/PID/stat: the state letter (field 3) and the start time in
// clock ticks since boot (field 22), which tells a process from a later one with the same PID.
type procStat struct {
	State string
	Start string
}

// parseStat reads a /proc/PID/stat line; comm (field 2) may hold spaces and parentheses, so the fields
// are counted from its last ')'.
func parseStat(line string) (procStat, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return procStat{}, errors.New("stat: no comm")
	}
	f := strings.Fields(line[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("stat: %d fields after comm, want 20", len(f))
	}
	return procStat{State: f[0], Start: f[19]}, nil
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

// Record is a daemon's PID and its start time, as the bed keeps it in NODE_DIR/NAME.pid: "PID START".
type Record struct {
	PID   int
	Start string
}

func recordPath(dir, name string) string { return filepath.Join(dir, name+".pid") }

// RecordPID records process pid as the node's daemon name.
func RecordPID(dir, name string, pid int) error {
	st, err := readStat(pid)
	if err != nil {
		return fmt.Errorf("record %s pid %d: %w", name, pid, err)
	}
	return writeRecord(dir, name, Record{PID: pid, Start: st.Start})
}

func writeRecord(dir, name string, r Record) error {
	return os.WriteFile(recordPath(dir, name), []byte(fmt.Sprintf("%d %s\n", r.PID, r.Start)), 0o644)
}

// readRecord reads the record of daemon name; ok is false when there is none.
func readRecord(dir, name string) (Record, bool) {
	b, err := os.ReadFile(recordPath(dir, name))
	if err != nil {
		return Record{}, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return Record{}, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return Record{}, false
	}
	return Record{PID: pid, Start: f[1]}, true
}

// alive reports whether the recorded process still runs: same PID, same start time, not a zombie.
func (r Record) alive() bool {
	st, err := readStat(r.PID)
	return err == nil && st.Start == r.Start && st.State != "Z"
}

// RecordedPID is the PID of the node's daemon name when its recorded process still runs.
func RecordedPID(dir, name string) (int, bool) {
	r, ok := readRecord(dir, name)
	if !ok || !r.alive() {
		return 0, false
	}
	return r.PID, true
}
