// Package servertest holds what every test that talks to a plugin socket needs: a short socket
// directory, a client that posts as dockerd does, and a server run for the length of a test. It is a
// package of its own so that the server, driver, ipam, cmd and e2e tests share one copy.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/internal/testkit"
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

// Serve runs s on a socket in a short directory until the test ends, and returns the socket's path
// once it is listening.
func Serve(t testing.TB, s *server.Server) string {
	t.Helper()
	path := filepath.Join(ShortDir(t), "cilium.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, path, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	testkit.Eventually(t, 2*time.Second, "socket "+path, func() error { _, err := os.Stat(path); return err })
	return path
}
