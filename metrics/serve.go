package metrics

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /metrics, and /healthz: 200 "ok" when health returns nil, else 503 "unhealthy: PART"
// (PART from a HealthError) or "unhealthy": fixed words, never the error's text, which may hold socket
// paths and the agent's address (Health logs it). Give it a Health's Check: health runs per request.
func (m *Metrics) Handler(health func(ctx context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		err := health(ctx)
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, healthText(err))
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

// Listener is the bound metrics listener; Serve serves on it.
type Listener struct {
	l    net.Listener
	path string      // the unix socket's path; "" for TCP
	file fs.FileInfo // the unix socket this process created, to remove only that one at the end
}

// UnixListen creates the unix socket at path. The wiring passes the plugin socket's own (server.Listen):
// a stale socket left by an earlier run is replaced; a symlink, any other kind of file, or a socket
// another process answers on is refused and left as it is.
type UnixListen func(path string) (net.Listener, error)

// Listen binds addr (see ParseAddress); a unix socket is created by unix.
func Listen(ctx context.Context, addr string, unix UnixListen) (*Listener, error) {
	network, address, err := ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		l, err := unix(address)
		if err != nil {
			return nil, fmt.Errorf("metrics socket: %w", err)
		}
		fi, err := os.Lstat(address)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("metrics socket: %w", err)
		}
		return &Listener{l: l, path: address, file: fi}, nil
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	return &Listener{l: l}, nil
}

// Close closes a listener Serve was not given, and removes its socket.
func (l *Listener) Close() error {
	err := l.l.Close()
	if rerr := l.removeSocket(); rerr != nil {
		return rerr
	}
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	return nil
}

// removeSocket removes the unix socket if it is still the one Listen created (a newer process that
// replaced it keeps its own).
func (l *Listener) removeSocket() error {
	if l.path == "" {
		return nil
	}
	fi, err := os.Lstat(l.path)
	if err != nil || !os.SameFile(fi, l.file) {
		return nil
	}
	if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("metrics socket: %w", err)
	}
	return nil
}

// Serve serves h on l until ctx is done, then closes l and removes its socket.
func (l *Listener) Serve(ctx context.Context, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l.l) }()
	select {
	case err := <-errc:
		return errors.Join(fmt.Errorf("metrics listener: %w", err), l.removeSocket())
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = fmt.Errorf("metrics listener shutdown: %w", err)
	} else if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = fmt.Errorf("metrics listener: %w", serr)
	}
	return errors.Join(err, l.removeSocket())
}

// Serve listens on addr (see Listen) and serves h until ctx is done.
func Serve(ctx context.Context, addr string, unix UnixListen, h http.Handler) error {
	l, err := Listen(ctx, addr, unix)
	if err != nil {
		return err
	}
	return l.Serve(ctx, h)
}
