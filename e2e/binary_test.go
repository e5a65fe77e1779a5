package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/e2e/bed"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// TestBinaryLifecycle runs the built binary: it listens within 200 ms of exec with nothing else up,
// and on SIGTERM it stops accepting, removes its socket, finishes the request in flight and exits 0.
func TestBinaryLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped under -short")
	}
	bin := bed.PluginBin()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("plugin binary: %v (run make build)", err)
	}
	fake := agenttest.New(t)
	dir := servertest.ShortDir(t)
	sock := filepath.Join(dir, "cilium.sock")

	var logs bytes.Buffer
	cmd := exec.Command(bin, "--docker-plugins", dir, "--cilium-api", fake.Addr(),
		"--docker-host-path", "unix://"+filepath.Join(dir, "no-docker.sock"), "--agent-timeout", "5s")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("kill the plugin: %v", err)
		}
		if t.Failed() {
			t.Logf("plugin log:\n%s", logs.String())
		}
	})

	bed.Eventually(t, 2*time.Second, "socket at "+sock+" after exec", func() error {
		_, err := os.Stat(sock)
		return err
	})
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Fatalf("socket appeared %s after exec, want <= 200ms", d)
	} else {
		t.Logf("listening %s after exec", d.Round(time.Millisecond))
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode: %v %v, want 0660", fi.Mode(), err)
	}
	client := servertest.Client(sock)
	post := func(method, body string) (int, string, error) {
		resp, err := client.Post("http://plugin/"+method, "application/json", strings.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	if code, body, err := post("Plugin.Activate", ""); err != nil || code != 200 || !strings.Contains(body, `"IpamDriver"`) {
		t.Fatalf("Activate: %d %q %v", code, body, err)
	}

	// A request in flight when SIGTERM arrives: the agent takes 1.5 s to answer.
	fake.SetFault(agenttest.RouteConfig, agenttest.Fault{Latency: 1500 * time.Millisecond})
	type result struct {
		code int
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		code, body, err := post("IpamDriver.RequestPool", `{"AddressSpace":"CiliumLocal","V6":false}`)
		inflight <- result{code, body, err}
	}()
	bed.Eventually(t, 5*time.Second, "RequestPool reaches the agent", func() error {
		if len(fake.RequestsTo(agenttest.RouteConfig)) == 0 {
			return errors.New("no GET /config yet")
		}
		return nil
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	bed.Eventually(t, time.Second, "socket removed after SIGTERM", func() error {
		_, err := os.Lstat(sock)
		switch {
		case err == nil:
			return errors.New("socket still there")
		case errors.Is(err, os.ErrNotExist):
			return nil
		default:
			return fmt.Errorf("lstat: %w", err)
		}
	})
	r := <-inflight
	if r.err != nil || r.code != 200 || !strings.Contains(r.body, `"PoolID":"CiliumPoolv4"`) {
		t.Fatalf("in-flight RequestPool across SIGTERM: %d %q %v, want 200 with the pool", r.code, r.body, r.err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("plugin still running 10 s after SIGTERM")
	}
}
