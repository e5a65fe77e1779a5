// Package servertest holds what every test that talks to a plugin socket needs: a short socket
// directory, a client that posts as dockerd does, and a server run for the length of a test. It is a
// package of its own so that the server, driver, ipam, cmd and e2e tests share one copy.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/server"
)

// Log is a logger that writes nowhere.
func Log() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// ShortDir returns a fresh temporary directory with a short path (unix socket paths are limited to
// 108 bytes), removed when the test ends.
func ShortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Client talks HTTP to the unix socket at path.
func Client(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

// Post sends a plugin call as dockerd does and returns the status and the body.
func Post(t testing.TB, c *http.Client, method string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := c.Post("http://plugin.moby.localhost/"+method, "application/vnd.docker.plugins.v1.2+json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST /%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer of /%s: %v", method, err)
	}
	return resp.StatusCode, b
}

// PostJSON is Post for answers that must be a JSON object.
func PostJSON(t testing.TB, c *http.Client, method string, body []byte) (int, map[string]any) {
	t.Helper()
	code, b := Post(t, c, method, body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer of /%s is not a JSON object: %v: %q", method, err, b)
	}
	return code, out
}

// Serve runs s on a socket in a short directory until the test ends, and returns the socket's path. The
// socket is listening when Serve returns (server.Listen binds it before Serve starts the HTTP server), so
// callers need not wait for it.
func Serve(t testing.TB, s *server.Server) string {
	t.Helper()
	path := filepath.Join(ShortDir(t), "cilium.sock")
	l, err := server.Listen(path)
	if err != nil {
		t.Fatalf("listen on %s: %v", path, err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	t.Cleanup(func() {
		if err := hs.Close(); err != nil {
			t.Errorf("close the plugin server: %v", err)
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return path
}
