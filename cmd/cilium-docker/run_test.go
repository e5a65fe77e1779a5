package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent/agenttest"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// syncBuffer is a bytes.Buffer the plugin's goroutines can log into while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// isSocket is nil when path is a socket.
func isSocket(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s is not a socket (%s)", path, fi.Mode())
	}
	return nil
}

// started is a plugin process run in the test.
type started struct {
	sock   string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// start calls run with args plus a fresh --docker-plugins directory and an unreachable Docker, and
// waits until the socket is there.
func start(t *testing.T, args ...string) *started {
	t.Helper()
	dir := servertest.ShortDir(t)
	args = append([]string{"--docker-plugins", dir, "--docker-host-path", "unix://" + dir + "/docker.sock"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	p := &started{sock: filepath.Join(dir, "cilium.sock"), stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	t0 := time.Now()
	go func() { p.done <- run(ctx, args, cli.IO{Out: io.Discard, Err: p.stderr}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-p.done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	testkit.Eventually(t, 200*time.Millisecond-time.Since(t0), "the plugin socket", func() error {
		return isSocket(p.sock)
	})
	return p
}

// stop cancels run's context and returns what run returned.
func (p *started) stop(t *testing.T) error {
	t.Helper()
	p.cancel()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s of its context ending")
		return nil
	}
}

func (p *started) post(t *testing.T, method, body string) (int, map[string]any) {
	t.Helper()
	return servertest.PostJSON(t, servertest.Client(p.sock), method, []byte(body))
}

func TestRunAgentComesUpLater(t *testing.T) {
	a := agenttest.NewStopped(t)
	p := start(t, "--cilium-api", a.Addr())

	const pool = `{"AddressSpace":"CiliumLocal","Pool":"","SubPool":"","Options":{},"V6":false}`
	t0 := time.Now()
	code, out := p.post(t, "IpamDriver.RequestPool", pool)
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("RequestPool with the agent down took %v, want < 2s", d)
	}
	if err, _ := out["Err"].(string); code != http.StatusInternalServerError || !strings.Contains(err, "cilium-agent not reachable at "+a.Addr()) {
		t.Errorf("RequestPool with the agent down: got %d %v, want 500 cilium-agent not reachable at %s", code, out, a.Addr())
	}

	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	code, out = p.post(t, "IpamDriver.RequestPool", pool)
	if data, _ := out["Data"].(map[string]any); code != http.StatusOK || out["PoolID"] != "CiliumPoolv4" ||
		!strings.HasPrefix(fmt.Sprint(data["com.docker.network.gateway"]), "10.77.18.133/") {
		t.Errorf("RequestPool once the agent is up: got %d %v, want 200 with the agent's router as gateway", code, out)
	}

	if err := p.stop(t); err != nil {
		t.Errorf("run: got %v, want nil", err)
	}
	if _, err := os.Lstat(p.sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after run returned: got %v, want it removed", err)
	}
}

func TestVersion(t *testing.T) {
	var out syncBuffer
	if err := run(context.Background(), []string{"version"}, cli.IO{Out: &out, Err: io.Discard}); err != nil {
		t.Fatalf("run version: %v", err)
	}
	if got, want := out.String(), "cilium-docker "+version+"\n"; got != want {
		t.Errorf("run version printed %q, want %q", got, want)
	}
}

func TestLogFormat(t *testing.T) {
	tests := []struct {
		name     string
		env      string // CILIUM_DOCKER_LOG_FORMAT; "" = unset
		args     []string
		wantJSON bool
	}{
		{"default", "", nil, false},
		{"flag", "", []string{"--log-format", "json"}, true},
		{"environment", "json", nil, true},
		{"flag wins over environment", "json", []string{"--log-format=text"}, false},
		{"flag wins over a bad environment", "xml", []string{"--log-format", "json"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("CILIUM_DOCKER_LOG_FORMAT", tt.env)
			}
			a := agenttest.NewStopped(t)
			p := start(t, append([]string{"--cilium-api", a.Addr()}, tt.args...)...)
			testkit.Eventually(t, 5*time.Second, "the first log line", func() error {
				if !strings.Contains(p.stderr.String(), "\n") {
					return fmt.Errorf("stderr %q", p.stderr.String())
				}
				return nil
			})
			line, _, _ := strings.Cut(p.stderr.String(), "\n")
			var entry map[string]any
			isJSON := json.Unmarshal([]byte(line), &entry) == nil
			if isJSON != tt.wantJSON {
				t.Errorf("first log line %q: JSON %v, want %v", line, isJSON, tt.wantJSON)
			}
			if isJSON && entry["msg"] != "starting" {
				t.Errorf("first log line %q: want msg starting", line)
			}
			if err := p.stop(t); err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
}

func TestBadConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr []string
	}{
		{"bad log format in environment", map[string]string{"CILIUM_DOCKER_LOG_FORMAT": "xml"}, nil, []string{"log-format", `"xml"`}},
		{"bad log format flag", nil, []string{"--log-format", "yaml"}, []string{"log-format", `"yaml"`}},
		{"bad bool in environment", map[string]string{"CILIUM_DOCKER_DEBUG": "perhaps"}, nil, []string{"CILIUM_DOCKER_DEBUG", "perhaps"}},
		{"bad duration in environment", map[string]string{"CILIUM_DOCKER_AGENT_TIMEOUT": "soon"}, nil, []string{"CILIUM_DOCKER_AGENT_TIMEOUT"}},
		{"non-positive timeout", nil, []string{"--agent-timeout", "0s"}, []string{"--agent-timeout"}},
		{"relative plugin dir", nil, []string{"--docker-plugins", "run/plugins"}, []string{"--docker-plugins", "absolute"}},
		{"bad agent address", nil, []string{"--cilium-api", "/var/run/cilium/cilium.sock"}, []string{"--cilium-api", "unix:///path"}},
		{"empty driver name", map[string]string{"CILIUM_DOCKER_DRIVER_NAME": ""}, nil, []string{"--driver-name", `""`}},
		{"driver name with a space", nil, []string{"--driver-name", "cilium docker"}, []string{"--driver-name", `"cilium docker"`}},
		{"unknown flag", nil, []string{"--frobnicate"}, []string{"frobnicate"}},
		{"stray argument", nil, []string{"serve"}, []string{`unexpected argument "serve"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			dir := servertest.ShortDir(t)
			args := append([]string{"--docker-plugins", dir}, tt.args...)
			err := run(context.Background(), args, cli.IO{Out: io.Discard, Err: io.Discard})
			if err == nil {
				t.Fatal("run: got nil, want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("run: got %q, want it to contain %q", err, w)
				}
			}
			if _, err := os.Lstat(filepath.Join(dir, "cilium.sock")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a bad configuration still created the socket")
			}
		})
	}
}

func TestRunRefusesLiveSocket(t *testing.T) {
	a := agenttest.NewStopped(t)
	p := start(t, "--cilium-api", a.Addr())
	err := run(context.Background(), []string{"--docker-plugins", filepath.Dir(p.sock), "--cilium-api", a.Addr()}, cli.IO{Out: io.Discard, Err: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "another process is already serving") {
		t.Errorf("second run on the same socket: got %v, want another process is already serving", err)
	}
	if code, _ := p.post(t, "Plugin.Activate", ""); code != http.StatusOK {
		t.Errorf("first plugin after the refused second one: Activate got %d, want 200", code)
	}
}

func TestLabelFlags(t *testing.T) {
	c, err := parseConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Labels.ImageLabels) != 0 || !slices.Contains(c.Labels.Exclude, "com.hashicorp.nomad.alloc_id") {
		t.Errorf("defaults: image labels %v (want none), exclude %v (want Nomad's alloc_id)", c.Labels.ImageLabels, c.Labels.Exclude)
	}
	t.Setenv("CILIUM_DOCKER_IMAGE_LABELS", "org.example.*, name")
	if c, err = parseConfig(nil, io.Discard); err != nil || !slices.Equal(c.Labels.ImageLabels, []string{"org.example.*", "name"}) {
		t.Errorf("CILIUM_DOCKER_IMAGE_LABELS: got %v, %v", c.Labels.ImageLabels, err)
	}
	if c, err = parseConfig([]string{"--image-labels", "*"}, io.Discard); err != nil || !slices.Equal(c.Labels.ImageLabels, []string{"*"}) {
		t.Errorf("--image-labels '*': got %v, %v", c.Labels.ImageLabels, err)
	}
}

// The managed plugin (plugin/config.json) names its driver by environment; the socket keeps its name.
func TestDriverName(t *testing.T) {
	c, err := parseConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.DriverName != "cilium" || c.SocketPath() != "/run/docker/plugins/cilium.sock" {
		t.Errorf("defaults: driver %q socket %q, want cilium and /run/docker/plugins/cilium.sock", c.DriverName, c.SocketPath())
	}
	t.Setenv("CILIUM_DOCKER_DRIVER_NAME", "cilium-docker:latest")
	if c, err = parseConfig(nil, io.Discard); err != nil || c.DriverName != "cilium-docker:latest" || c.SocketPath() != "/run/docker/plugins/cilium.sock" {
		t.Errorf("CILIUM_DOCKER_DRIVER_NAME: got driver %q socket %q, %v", c.DriverName, c.SocketPath(), err)
	}
}

// At boot restart-policy containers start while the agent is still coming up: in the first minute
// RequestAddress waits for it instead of failing, and fails fast once that window is over.
func TestRunAwaitsAgentAtStartup(t *testing.T) {
	const req = `{"PoolID":"CiliumPoolv4","Address":"","Options":{}}`
	t.Run("agent comes up within the window", func(t *testing.T) {
		a := agenttest.NewStopped(t)
		p := start(t, "--cilium-api", a.Addr(), "--agent-startup-wait", "20s")
		type answer struct {
			code int
			out  map[string]any
		}
		got := make(chan answer, 1)
		t0 := time.Now()
		go func() {
			code, out := servertest.PostJSON(t, servertest.Client(p.sock), "IpamDriver.RequestAddress", []byte(req))
			got <- answer{code, out}
		}()
		testkit.Eventually(t, 5*time.Second-time.Since(t0), "RequestAddress to reach the stopped agent's socket", func() error {
			if d := time.Since(t0); d <= 300*time.Millisecond {
				return fmt.Errorf("%s since the request", d)
			}
			return nil
		})
		select {
		case a := <-got:
			t.Fatalf("RequestAddress answered %d %v before the agent was up, want it to wait", a.code, a.out)
		default:
		}
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case a := <-got:
			if addr, _ := a.out["Address"].(string); a.code != http.StatusOK || !strings.HasPrefix(addr, "10.77.") {
				t.Errorf("RequestAddress once the agent is up: got %d %v, want 200 with an address", a.code, a.out)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("RequestAddress did not answer within 10s of the agent coming up")
		}
	})
	t.Run("window over", func(t *testing.T) {
		a := agenttest.NewStopped(t)
		p := start(t, "--cilium-api", a.Addr(), "--agent-startup-wait", "0s")
		t0 := time.Now()
		code, out := p.post(t, "IpamDriver.RequestAddress", req)
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("RequestAddress without a startup wait took %v, want < 2s", d)
		}
		if msg, _ := out["Err"].(string); code != http.StatusInternalServerError || !strings.Contains(msg, "cilium-agent not reachable") {
			t.Errorf("RequestAddress: got %d %v, want 500 cilium-agent not reachable", code, out)
		}
	})
}
