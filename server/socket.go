package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// SocketMode is the plugin socket's permission: root and the socket's group only.
const SocketMode = 0o660

// Listen creates the unix socket at path with mode SocketMode and returns its listener. A stale
// socket file left by an earlier run is replaced; a symlink, any other kind of file, or a socket on
// which another process still answers is refused. The socket appears at path only once its mode is
// set: it is created under a temporary name and renamed into place.
func Listen(path string) (*net.UnixListener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create plugin directory %q: %w", dir, err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid()))
	_ = os.Remove(tmp)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %q: %w", tmp, err)
	}
	// The listener must not unlink the temporary name on Close: it no longer exists after the rename.
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, SocketMode); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("set mode of %q: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("move socket into place at %q: %w", path, err)
	}
	return l, nil
}

// removeStale removes a socket file at path that nobody answers on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect %q: %w", path, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("refusing to replace %q: it is a symlink", path)
	case fi.Mode()&fs.ModeSocket == 0:
		return fmt.Errorf("refusing to replace %q: it is not a socket (%s)", path, fi.Mode().Type())
	}
	c, err := net.DialTimeout("unix", path, 200*time.Millisecond)
	if err == nil {
		c.Close()
		return fmt.Errorf("another process is already serving on %q", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket %q: %w", path, err)
	}
	return nil
}

// removeIfOurs removes path only if it is still the socket this process created (same inode), so a
// newer plugin process that replaced it keeps its socket.
func removeIfOurs(path string, ino uint64) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect %q: %w", path, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Ino != ino {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove socket %q: %w", path, err)
	}
	return nil
}

func inode(path string) (uint64, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, fmt.Errorf("inspect %q: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("inspect %q: no inode", path)
	}
	return st.Ino, nil
}
