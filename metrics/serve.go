package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// healthTimeout bounds one /healthz check.
const healthTimeout = 2 * time.Second

// Handler serves /metrics, and /healthz: 200 "ok" when health returns nil, else 503 with its error.
func (m *Metrics) Handler(health func(ctx context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		if err := health(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// ParseAddress checks a --metrics-address: host:port (TCP) or unix:///absolute/path.
func ParseAddress(addr string) (network, address string, err error) {
	if strings.HasPrefix(addr, "unix://") {
		u, err := url.Parse(addr)
		if err != nil || u.Path == "" || u.Host != "" {
			return "", "", fmt.Errorf("metrics address %q: want unix:///absolute/path", addr)
		}
		return "unix", u.Path, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", "", fmt.Errorf("metrics address %q: want host:port or unix:///path: %w", addr, err)
	}
	return "tcp", addr, nil
}

// Serve listens on addr (see ParseAddress) and serves h until ctx is done. A unix socket left by an
// earlier run is replaced, and removed again at the end.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	network, address, err := ParseAddress(addr)
	if err != nil {
		return err
	}
	if network == "unix" {
		if err := os.Remove(address); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("metrics socket %s: %w", address, err)
		}
		defer os.Remove(address)
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, network, address)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics listener: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("metrics listener shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics listener: %w", err)
	}
	return nil
}
