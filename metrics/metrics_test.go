package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/metrics"
)

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

func TestHealthz(t *testing.T) {
	m := metrics.New()
	var health error
	h := m.Handler(func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("health check without a deadline")
		}
		return health
	})
	if code, body := scrape(t, h, "/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthy: got %d %q, want 200 ok", code, body)
	}
	health = errors.New("agent: cilium-agent not reachable")
	if code, body := scrape(t, h, "/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not reachable") {
		t.Errorf("unhealthy: got %d %q, want 503 with the reason", code, body)
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

// TestServeUnix serves on a unix socket, replacing a stale one, answers, and removes it at the end.
func TestServeUnix(t *testing.T) {
	dir, err := os.MkdirTemp("", "md")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "m.sock")
	if err := os.WriteFile(path, nil, 0o600); err != nil { // stale leftover
		t.Fatal(err)
	}
	m := metrics.New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- metrics.Serve(ctx, "unix://"+path, m.Handler(func(context.Context) error { return nil }))
	}()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	var body string
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(5 * time.Second); ; <-tick.C {
		resp, err := c.Get("http://metrics/healthz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics socket did not answer: %v", err)
		}
	}
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
