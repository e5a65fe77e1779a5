package procstop_test

import (
	"os/exec"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/procstop"
)

// child starts script in sh, waits for its first output, and returns it with a channel that closes
// when it has been reaped.
func child(t *testing.T, script string) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := out.Read(make([]byte, 1)); err != nil { // the script's trap is set
		t.Fatalf("child did not start: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	return cmd, exited
}

func TestStop(t *testing.T) {
	for _, tt := range []struct {
		name, script string
		wantKilled   bool
	}{
		{"ends on SIGTERM", `echo; exec sleep 60`, false},
		{"ignores SIGTERM", `trap '' TERM; echo; exec sleep 60`, true}, // the ignored signal stays so across exec
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd, exited := child(t, tt.script)
			start := time.Now()
			killed, err := procstop.Stop(cmd.Process, 200*time.Millisecond, exited)
			if err != nil || killed != tt.wantKilled {
				t.Fatalf("Stop: killed %v, %v; want killed %v, nil", killed, err, tt.wantKilled)
			}
			<-exited
			if took := time.Since(start); tt.wantKilled && took < 200*time.Millisecond {
				t.Errorf("killed after %s, before the grace ended", took)
			}
		})
	}
}

// TestStopGone: a process that is already gone needs no stop, and is no error.
func TestStopGone(t *testing.T) {
	cmd, exited := child(t, `echo`)
	<-exited
	if killed, err := procstop.Stop(cmd.Process, time.Second, exited); killed || err != nil {
		t.Fatalf("Stop of an exited process: killed %v, %v; want false, nil", killed, err)
	}
}
