package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/internal/testkit"
	"github.com/cilium-docker/cilium-docker/metrics"
	"github.com/cilium-docker/cilium-docker/server"
)

// listenUnix is the unix listener the daemon wires into metrics.Listen: the plugin socket's own.
func listenUnix(path string) (net.Listener, error) {
	l, err := server.Listen(path)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func scrape(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestObserversAndScrape(t *testing.T) {
	m := metrics.New()
	m.ObserveCall("NetworkDriver.Join", 3*time.Millisecond, nil)
	m.ObserveCall("NetworkDriver.Join", 40*time.Millisecond, errors.New("boom"))
	m.ObserveAgent("create endpoint", 200*time.Millisecond, nil)
	m.ObserveAgentRateLimited("create endpoint")
	m.ObserveAgentRateLimited("create endpoint")
	m.ObserveDocker("joining container", time.Millisecond, errors.New("slow"))
	m.Gauge("endpoints_managed", "test gauge", func() float64 { return 7 })
	removed := m.Counter("reconciler_removed_total", "test counter")
	removed.Add(2)

	code, body := scrape(t, m.Handler(func(context.Context) error { return nil }), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`cilium_docker_plugin_calls_total{method="NetworkDriver.Join",result="ok"} 1`,
		`cilium_docker_plugin_calls_total{method="NetworkDriver.Join",result="error"} 1`,
		`cilium_docker_plugin_call_duration_seconds_count{method="NetworkDriver.Join"} 2`,
		`cilium_docker_plugin_call_duration_seconds_bucket{method="NetworkDriver.Join",le="0.005"} 1`,
		`cilium_docker_agent_calls_total{call="create endpoint",result="ok"} 1`,
		`cilium_docker_agent_call_duration_seconds_sum{call="create endpoint"} 0.2`,
		`cilium_docker_agent_call_duration_seconds_bucket{call="create endpoint",le="300"} 1`,
		`cilium_docker_agent_rate_limited_total{call="create endpoint"} 2`,
		`cilium_docker_docker_calls_total{call="joining container",result="error"} 1`,
		`cilium_docker_endpoints_managed 7`,
		`cilium_docker_reconciler_removed_total 2`,
		"go_goroutines ", "process_open_fds ", "process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// logBuffer is a logger whose output the test reads.
func logBuffer() (*logrus.Entry, *bytes.Buffer) {
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	return logrus.NewEntry(l), &buf
}

// clock is a settable time for Health.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestHealthz: /healthz answers in fixed words, never the check's error text; the log has that text,
// once per change.
func TestHealthz(t *testing.T) {
	const secret = "cilium-agent not reachable at unix:///var/run/cilium/cilium.sock (get config): connect: no such file or directory"
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantBody string
	}{
		{"healthy", nil, http.StatusOK, "ok\n"},
		{"agent down", &metrics.HealthError{Part: "agent", Err: errors.New(secret)}, http.StatusServiceUnavailable, "unhealthy: agent\n"},
		{"wrapped", fmt.Errorf("check: %w", &metrics.HealthError{Part: "plugin socket", Err: errors.New("dial unix /run/docker/plugins/cilium.sock: " + secret)}),
			http.StatusServiceUnavailable, "unhealthy: plugin socket\n"},
		{"unnamed error", errors.New(secret), http.StatusServiceUnavailable, "unhealthy\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := logBuffer()
			hl := metrics.NewHealth(log, func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					return errors.New("health check without a deadline")
				}
				return tt.err
			})
			var c clock
			hl.SetClock(c.now)
			h := metrics.New().Handler(hl.Check)
			for range 3 { // the cached answer and two fresh checks
				code, body := scrape(t, h, "/healthz")
				if code != tt.wantCode || body != tt.wantBody {
					t.Errorf("/healthz: got %d %q, want %d %q", code, body, tt.wantCode, tt.wantBody)
				}
				for _, leak := range []string{"/run/", "not reachable", "unix:", "connect"} {
					if strings.Contains(body, leak) {
						t.Errorf("/healthz body %q contains %q", body, leak)
					}
				}
				scrape(t, h, "/healthz")
				c.add(metrics.HealthTTL)
			}
			want := 0
			if tt.err != nil {
				want = 1
			}
			if n := strings.Count(logs.String(), "no such file or directory"); n != want {
				t.Errorf("the log has the error %d times, want %d:\n%s", n, want, logs)
			}
		})
	}
}

// TestHealthzCached: concurrent /healthz requests share one check, and requests within HealthTTL of
// its end reuse its answer; the next one after it checks again. The check blocks until every request
// of the burst waits for it.
func TestHealthzCached(t *testing.T) {
	log, logs := logBuffer()
	var calls atomic.Int32
	release := make(chan struct{})
	hl := metrics.NewHealth(log, func(context.Context) error {
		calls.Add(1)
		<-release
		return &metrics.HealthError{Part: "agent", Err: errors.New("cilium-agent not reachable at unix:///var/run/cilium/cilium.sock")}
	})
	var c clock
	hl.SetClock(c.now)
	h := metrics.New().Handler(hl.Check)

	const n = 16
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		wg.Go(func() { _, bodies[i] = scrape(t, h, "/healthz") })
	}
	finish := sync.OnceFunc(func() { close(release); wg.Wait() })
	defer finish() // also when the wait below fails the test
	testkit.Eventually(t, 10*time.Second, "the other requests to wait for the check", func() error {
		if w := hl.Waiters(); w != n-1 {
			return fmt.Errorf("%d requests wait for the check (%d calls), want %d", w, calls.Load(), n-1)
		}
		return nil
	})
	finish()
	if got := calls.Load(); got != 1 {
		t.Errorf("%d concurrent /healthz made %d checks, want 1", n, got)
	}
	for i, b := range bodies {
		if b != "unhealthy: agent\n" {
			t.Errorf("/healthz %d: %q, want %q", i, b, "unhealthy: agent\n")
		}
	}
	c.add(metrics.HealthTTL - time.Millisecond)
	scrape(t, h, "/healthz")
	if got := calls.Load(); got != 1 {
		t.Errorf("/healthz within %s of the check: %d checks, want 1", metrics.HealthTTL, got)
	}
	c.add(time.Millisecond)
	scrape(t, h, "/healthz")
	if got := calls.Load(); got != 2 {
		t.Errorf("/healthz %s after the check: %d checks, want 2", metrics.HealthTTL, got)
	}
	if n := strings.Count(logs.String(), "not reachable"); n != 1 {
		t.Errorf("the log has the error %d times, want once:\n%s", n, logs)
	}
}

// TestHealthzWaitEnds: a request whose deadline passes while it waits for another's check answers
// 503 and leaves the check to finish for the others.
func TestHealthzWaitEnds(t *testing.T) {
	log, _ := logBuffer()
	release, running := make(chan struct{}), make(chan struct{})
	hl := metrics.NewHealth(log, func(context.Context) error { close(running); <-release; return nil })
	first := make(chan error, 1)
	go func() { first <- hl.Check(context.Background()) }()
	<-running
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() { waited <- hl.Check(ctx) }()
	testkit.Eventually(t, 10*time.Second, "the second check to wait for the first", func() error {
		if n := hl.Waiters(); n != 1 {
			return fmt.Errorf("%d waiters", n)
		}
		return nil
	})
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter whose context ended: got %v, want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("the check itself: got %v, want nil", err)
	}
}

func TestParseAddress(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:9962": "tcp 127.0.0.1:9962", ":9962": "tcp :9962", "[::1]:9962": "tcp [::1]:9962",
		"unix:///run/cilium-docker/metrics.sock": "unix /run/cilium-docker/metrics.sock",
		"9962":                                   "", "unix://relative/x": "", "unix://": "", "http://x:1": "",
	} {
		network, address, err := metrics.ParseAddress(addr)
		got := network + " " + address
		if err != nil {
			got = ""
		}
		if got != want {
			t.Errorf("ParseAddress(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
}

// unixClient talks HTTP to the unix socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

// staleSocket leaves a socket file at path that nobody answers on, as a killed process does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
}

// TestServeUnix serves on a unix socket, replacing a stale one, answers, and removes it at the end.
func TestServeUnix(t *testing.T) {
	path := filepath.Join(shortDir(t), "m.sock")
	staleSocket(t, path)
	m := metrics.New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- metrics.Serve(ctx, "unix://"+path, listenUnix, m.Handler(func(context.Context) error { return nil }))
	}()
	c := unixClient(path)
	var body string
	testkit.Eventually(t, 5*time.Second, "the metrics socket to answer", func() error {
		resp, err := c.Get("http://metrics/healthz")
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		return nil
	})
	if strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz over the socket: %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after Serve returned: %v", err)
	}
}

// shortDir is a temporary directory short enough for a unix socket path.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "md")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestServeUnixRefuses: what sits at the metrics path and is not a stale socket is left as it is, and
// Serve fails saying why.
func TestServeUnixRefuses(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr string
		check   func(t *testing.T, path string)
	}{
		{name: "regular file", wantErr: "it is not a socket", prepare: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, check: func(t *testing.T, path string) {
			if b, err := os.ReadFile(path); err != nil || string(b) != "keep" {
				t.Errorf("regular file changed: got %q, %v; want keep", b, err)
			}
		}},
		{name: "symlink", wantErr: "it is a symlink", prepare: func(t *testing.T, path string) {
			target := filepath.Join(filepath.Dir(path), "target")
			if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, check: func(t *testing.T, path string) {
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("symlink replaced: %v, %v", fi, err)
			}
			if b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "target")); err != nil || string(b) != "keep" {
				t.Errorf("symlink target changed: got %q, %v; want keep", b, err)
			}
		}},
		{name: "symlink to a stale socket", wantErr: "it is a symlink", prepare: func(t *testing.T, path string) {
			target := filepath.Join(filepath.Dir(path), "target.sock")
			staleSocket(t, target)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, check: func(t *testing.T, path string) {
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("symlink replaced: %v, %v", fi, err)
			}
		}},
		{name: "live socket", wantErr: "another process is already serving", prepare: func(t *testing.T, path string) {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}, check: func(t *testing.T, path string) {
			if c, err := net.Dial("unix", path); err != nil {
				t.Errorf("the live socket stopped answering: %v", err)
			} else {
				c.Close()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(shortDir(t), "m.sock")
			tt.prepare(t, path)
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- metrics.Serve(ctx, "unix://"+path, listenUnix, metrics.New().Handler(func(context.Context) error { return nil }))
			}()
			// Serve must fail at once; one that serves instead replaced the file with its own socket.
			var serr error
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
		wait:
			for deadline := time.Now().Add(5 * time.Second); ; {
				select {
				case serr = <-done:
					break wait
				case <-tick.C:
				}
				if fi, err := os.Lstat(path); err != nil || !os.SameFile(fi, before) || fi.Mode() != before.Mode() || time.Now().After(deadline) {
					cancel()
					serr = <-done
					t.Errorf("Serve replaced what was at the path (was %s, now %v, %v) and served: returned %v", before.Mode().Type(), fi, err, serr)
					break
				}
			}
			if serr == nil || !strings.Contains(serr.Error(), tt.wantErr) || !strings.Contains(serr.Error(), path) {
				t.Errorf("Serve: got %v, want an error naming %s and saying %q", serr, path, tt.wantErr)
			}
			tt.check(t, path)
		})
	}
}
