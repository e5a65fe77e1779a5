package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockWait is how long a command waits for another one on the same bed.
const lockWait = 15 * time.Minute

// lock takes the bed's lock (an flock of TESTBED_DIR/.lock): commands that change a bed run one at a
// time. The returned func releases it.
func (c Config) lock() (func(), error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(c.Dir, ".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	err = poll(context.Background(), lockWait, func() (bool, error) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == syscall.EWOULDBLOCK {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("bed lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
