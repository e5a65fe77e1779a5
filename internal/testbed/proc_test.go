package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

func TestParseStat(t *testing.T) {
	// comm with a space and a parenthesis: the fields are counted from the last ')'.
	line := "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n"
	st, err := parseStat(line)
	if err != nil || st.State != "S" || st.Start != "987654" {
		t.Errorf("parseStat = %+v, %v; want state S, start 987654", st, err)
	}
	if _, err := parseStat("4242 (short) S 1 2"); err == nil {
		t.Error("parseStat of a short line: no error")
	}
}

func TestRecordedPID(t *testing.T) {
	dir := t.TempDir()
	if err := RecordPID(dir, "self", os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if pid, ok := RecordedPID(dir, "self"); !ok || pid != os.Getpid() {
		t.Errorf("RecordedPID(self) = %d, %v; want %d, true", pid, ok, os.Getpid())
	}
	// The same PID with another start time is another process: not ours.
	if err := os.WriteFile(filepath.Join(dir, "reused.pid"), []byte("1 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pid, ok := RecordedPID(dir, "reused"); ok {
		t.Errorf("RecordedPID(reused) = %d, true; want false (start time differs)", pid)
	}
	if _, ok := RecordedPID(dir, "none"); ok {
		t.Error("RecordedPID(none) = true without a record")
	}
}

func TestNode(t *testing.T) {
	c := Config{ID: "aw", Dir: "/tmp/aw-cdtb"}
	nd, err := c.Node(3)
	if err != nil {
		t.Fatal(err)
	}
	want := Node{N: 3, NS: "aw-cdnode3", Dir: "/tmp/aw-cdtb/n3", IP: "192.168.77.4", IP6: "fd00:77::4",
		PodRange: "10.73.0.0/16", Range6: "fd00:73::/96", Port: "node3", CGDocker: "aw-cdtb-n3",
		CGAgent: "aw-cdtb-agent-n3", EtcdURL: "http://192.168.77.2:2379"}
	if nd != want {
		t.Errorf("Node(3) = %+v, want %+v", nd, want)
	}
	if n1, _ := (Config{Dir: "/tmp/cdtb"}).Node(1); n1.NS != "cdnode1" || n1.EtcdURL != "http://127.0.0.1:2379" {
		t.Errorf("default bed's node 1 = %+v", n1)
	}
	if _, err := c.Node(10); err == nil {
		t.Error("Node(10): no error")
	}
	if (Config{ID: "Bad-ID", Dir: "/tmp/x"}).Check() == nil {
		t.Error("Check accepts ID Bad-ID")
	}
}

// A SIGKILL returns once the process is gone: a start right after it finds nothing running.
func TestSignalKillWaits(t *testing.T) {
	c := Config{Dir: t.TempDir()}
	nd, _ := c.Node(1)
	if err := os.MkdirAll(nd.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // the reaper, as the bed's launcher has one
	if err := RecordPID(nd.Dir, "plugin", cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := c.Signal(nd, "plugin", syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if pid, ok := RecordedPID(nd.Dir, "plugin"); ok {
		t.Errorf("pid %d still runs when Signal(SIGKILL) returned", pid)
	}
	<-done
}
