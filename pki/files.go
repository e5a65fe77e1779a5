package pki

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ensureDir creates path (and missing parents) 0700, or checks that the existing directory is one no
// one but its owner can write to.
func ensureDir(path string) error {
	if err := os.MkdirAll(path, dirMode); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", path)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("directory %s is writable by group or others (mode %#o): chmod go-w it first", path, perm)
	}
	return nil
}

// writeNew creates path with mode, exclusively and never through a symlink (O_EXCL|O_NOFOLLOW), writes
// data and syncs it; a file that could not be written whole is removed.
func writeNew(path string, data []byte, mode os.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
