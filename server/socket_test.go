package server_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/server"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

func TestListen(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string) // makes what is at path before Listen
		wantErr string                          // "" = Listen succeeds
		check   func(t *testing.T, path string) // after Listen
	}{
		{name: "fresh", prepare: func(*testing.T, string) {}},
		{name: "missing directory", prepare: func(t *testing.T, path string) {
			os.Remove(filepath.Dir(path))
		}},
		{name: "stale socket replaced", prepare: func(t *testing.T, path string) {
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			l.SetUnlinkOnClose(false)
			l.Close()
		}},
		{name: "live socket refused", wantErr: "another process is already serving", prepare: func(t *testing.T, path string) {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}, check: func(t *testing.T, path string) {
			if _, err := net.Dial("unix", path); err != nil {
				t.Errorf("the live socket stopped answering: %v", err)
			}
		}},
		{name: "regular file refused", wantErr: "it is not a socket", prepare: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, check: func(t *testing.T, path string) {
			if b, err := os.ReadFile(path); err != nil || string(b) != "keep" {
				t.Errorf("regular file changed: got %q, %v", b, err)
			}
		}},
		{name: "symlink refused", wantErr: "it is a symlink", prepare: func(t *testing.T, path string) {
			target := filepath.Join(filepath.Dir(path), "target")
			if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, check: func(t *testing.T, path string) {
			target := filepath.Join(filepath.Dir(path), "target")
			if b, err := os.ReadFile(target); err != nil || string(b) != "keep" {
				t.Errorf("symlink target changed: got %q, %v", b, err)
			}
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("symlink replaced: %v, %v", fi, err)
			}
		}},
		{name: "symlink to a socket refused", wantErr: "it is a symlink", prepare: func(t *testing.T, path string) {
			target := filepath.Join(filepath.Dir(path), "target.sock")
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: target, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			l.SetUnlinkOnClose(false)
			l.Close()
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, check: func(t *testing.T, path string) {
			if fi, err := os.Lstat(filepath.Join(filepath.Dir(path), "target.sock")); err != nil || fi.Mode()&os.ModeSocket == 0 {
				t.Errorf("symlink target removed: %v, %v", fi, err)
			}
		}},
		{name: "directory refused", wantErr: "it is not a socket", prepare: func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(servertest.ShortDir(t), "plugins", "cilium.sock")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, path)
			l, err := server.Listen(path)
			if tt.wantErr != "" {
				if err == nil {
					l.Close()
					t.Fatalf("Listen: got success, want an error containing %q", tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Listen: got %q, want it to contain %q", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				defer l.Close()
				fi, err := os.Lstat(path)
				if err != nil {
					t.Fatalf("socket: %v", err)
				}
				if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != server.SocketMode {
					t.Errorf("socket mode: got %v, want socket with %o", fi.Mode(), server.SocketMode)
				}
				c, err := net.Dial("unix", path)
				if err != nil {
					t.Fatalf("dial the new socket: %v", err)
				}
				c.Close()
			}
			if tt.check != nil {
				tt.check(t, path)
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".cilium.sock.*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary socket left behind: %v", leftovers)
			}
		})
	}
}
