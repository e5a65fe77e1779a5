package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// socketLimit is how long SocketMS waits for the plugin's socket.
const socketLimit = 5 * time.Second

// SocketMS starts plugin bin with a plugin directory of its own and agent API api and returns the
// milliseconds from its exec until it listens on cilium.sock there, or "> 5000" when it did not within
// 5 s; then stops it (SIGTERM, SIGKILL 5 s later) and removes the directory. `bench upstream` runs it
// inside a node (`bench socket-ms`, through the bed's exec), where the agent's socket is, so that the
// bed's exec wrapper is not timed. The plugin's flags are those both plugins take.
func SocketMS(ctx context.Context, bin, api string) (string, error) {
	d, err := os.MkdirTemp("/tmp", "cdsock.")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(d)
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	cmd := exec.CommandContext(pctx, bin, "--docker-plugins", d, "--cilium-api", api, "--docker-host-path", "unix://"+d+"/none.sock")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("socket: start %s: %w", bin, err)
	}
	defer func() { stop(); _ = cmd.Wait() }()
	sock := filepath.Join(d, "cilium.sock")
	for {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return fmt.Sprint(time.Since(t0).Milliseconds()), nil
		}
		if time.Since(t0) >= socketLimit {
			return fmt.Sprintf("> %d", socketLimit.Milliseconds()), nil
		}
		if err := pause(ctx, time.Millisecond); err != nil {
			return "", err
		}
	}
}
