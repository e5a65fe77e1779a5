package pki

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// writeNew never writes through a symlink nor over a file, and leaves nothing of a refused write.
func TestWriteNewRefusesSymlinkAndExisting(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := writeNew(link, []byte("secret"), keyMode); err == nil {
		t.Error("wrote through a symlink")
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("symlink target: %v, want not created", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Errorf("the symlink itself: %v %v, want it left as it was", fi, err)
	}
	existing := filepath.Join(dir, "a.key")
	if err := os.WriteFile(existing, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeNew(existing, []byte("new"), keyMode); !errors.Is(err, fs.ErrExist) {
		t.Errorf("over an existing file: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "old" {
		t.Errorf("existing file now %q, want it unchanged", b)
	}
}
