package dirsync_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/policy/dirsync"
)

// TestFileNameOneKeyPerFile: a namespace must be a DNS-1123 label, so no two keys share a file
// ("x.y/z" and "x/y.z" both made cnp-x.y.z), and every file name maps back to its own key.
func TestFileNameOneKeyPerFile(t *testing.T) {
	d := dirsync.Dir{Path: t.TempDir(), Owner: dirsync.FromEtcd}
	for _, key := range []string{"x.y/z", "a.b.c/d", "/z", "Shop/z", "-x/z", strings.Repeat("n", 64) + "/z"} {
		if f, err := d.FileName(key); err == nil || !strings.Contains(err.Error(), "DNS-1123 label") {
			t.Errorf("FileName(%q) = %q, %v; want a refusal of the namespace as not a DNS-1123 label", key, f, err)
		}
	}
	seen := map[string]string{}
	for _, key := range []string{"x/y.z", "x/y", "y.z", "x.y.z", "shop/web", "shop/web.v2", "a", "a.b"} {
		f, err := d.FileName(key)
		if err != nil {
			t.Errorf("FileName(%q): %v", key, err)
			continue
		}
		if other, ok := seen[f]; ok {
			t.Errorf("keys %q and %q share the file %q", other, key, f)
		}
		seen[f] = key
		if back, ok := d.KeyOf(f); !ok || back != key {
			t.Errorf("KeyOf(FileName(%q) = %q) = %q, %v", key, f, back, ok)
		}
	}
}

// plantTemp puts a symlink where Write makes its temporary file, pointing at target outside the
// directory.
func plantTemp(t *testing.T, dir, file, target string) {
	t.Helper()
	if err := os.Symlink(target, filepath.Join(dir, "."+file+".tmp")); err != nil {
		t.Fatal(err)
	}
}

// TestWriteFollowsNoSymlink: a symlink at the temporary name (planted, or left by anything) is never
// followed: its target keeps its content, a dangling one creates nothing, and the policy file is a
// regular file with the document.
func TestWriteFollowsNoSymlink(t *testing.T) {
	const file = "cilium-docker.ccnp.app2.yaml"
	for _, dangling := range []bool{false, true} {
		dir, outside := t.TempDir(), t.TempDir()
		target := filepath.Join(outside, "shadow")
		if !dangling {
			if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		plantTemp(t, dir, file, target)
		d := dirsync.Dir{Path: dir, Owner: dirsync.FromEtcd}
		if err := d.Write(file, doc("app2", "app1")); err != nil {
			t.Fatalf("dangling %v: Write: %v", dangling, err)
		}
		b, err := os.ReadFile(target)
		switch {
		case dangling && !os.IsNotExist(err):
			t.Errorf("dangling symlink: its target was created (%q, %v)", b, err)
		case !dangling && (err != nil || string(b) != "precious\n"):
			t.Errorf("symlink's target: %q, %v; want it unchanged", b, err)
		}
		fi, err := os.Lstat(filepath.Join(dir, file))
		if err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("dangling %v: policy file: %v, %v; want a regular file", dangling, fi, err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, file)); err != nil || string(b) != doc("app2", "app1") {
			t.Errorf("dangling %v: policy file holds %q, %v", dangling, b, err)
		}
		if got := files(t, dir); got != file {
			t.Errorf("dangling %v: files %q, want only %q", dangling, got, file)
		}
	}
}

// TestWriteStaleTemp: a regular temporary file a crash left is replaced; anything else at the name
// (a directory) fails the write, saying so, and is left alone.
func TestWriteStaleTemp(t *testing.T) {
	const file = "cilium-docker.ccnp.app2.yaml"
	dir := t.TempDir()
	d := dirsync.Dir{Path: dir, Owner: dirsync.FromEtcd}
	tmp := filepath.Join(dir, "."+file+".tmp")
	if err := os.WriteFile(tmp, []byte("half a policy"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(file, doc("app2", "app1")); err != nil {
		t.Fatalf("Write over a stale temporary file: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, file)); err != nil || string(b) != doc("app2", "app1") {
		t.Errorf("policy file holds %q, %v", b, err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	err := d.Write(file, doc("app2", "app3"))
	if err == nil || !strings.Contains(err.Error(), "not a regular file or symlink") {
		t.Errorf("Write with a directory at the temporary name: %v, want a refusal saying so", err)
	}
	if fi, err := os.Lstat(tmp); err != nil || !fi.IsDir() {
		t.Errorf("the directory at the temporary name: %v, %v; want it left alone", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, file)); err != nil || string(b) != doc("app2", "app1") {
		t.Errorf("policy file holds %q, %v; want the last written", b, err)
	}
}

// TestOwnedRemovesStaleTempWithoutFollowing: the leftover temporary files Owned removes are unlinked,
// a symlink's target untouched.
func TestOwnedRemovesStaleTempWithoutFollowing(t *testing.T) {
	const file = "cilium-docker.ccnp.app2.yaml"
	dir, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "shadow")
	if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plantTemp(t, dir, file, target)
	d := dirsync.Dir{Path: dir, Owner: dirsync.FromEtcd}
	if _, err := d.Owned(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); got != "" {
		t.Errorf("files %q, want the stale symlink removed", got)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "precious\n" {
		t.Errorf("symlink's target: %q, %v; want it unchanged", b, err)
	}
}
