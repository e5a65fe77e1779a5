package dirsync

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Owner prefixes: the sync owns the files of FromEtcd, `policy apply --local` those of Local. Neither
// touches the other's files or any file without its prefix.
const (
	FromEtcd = "cilium-docker."
	Local    = "cilium-docker-local."
)

// tmpSuffix ends the temporary names: the agent reads only names ending in .yaml.
const tmpSuffix = ".tmp"

// Dir is the agent's static policy directory, as seen by one owner.
type Dir struct {
	Path  string
	Owner string // FromEtcd or Local
}

// FileName is the file of the policy key ("<name>" clusterwide, "<namespace>/<name>" namespaced):
// <owner>ccnp.<name>.yaml or <owner>cnp-<namespace>.<name>.yaml, a DNS-1123 subdomain as the agent
// requires of the names it reads. The namespace must be a DNS-1123 label (as Kubernetes and the
// checker require): with a dot in it, "x.y/z" and "x/y.z" would share a file.
func (d Dir) FileName(key string) (string, error) {
	var f string
	if ns, name, ok := strings.Cut(key, "/"); ok {
		if reasons := dns1123Label(ns); len(reasons) > 0 {
			return "", fmt.Errorf("policy %q: namespace %q is not a DNS-1123 label: %s", key, ns, strings.Join(reasons, "; "))
		}
		f = d.Owner + "cnp-" + ns + "." + name + ".yaml"
	} else {
		f = d.Owner + "ccnp." + key + ".yaml"
	}
	if reasons := dns1123Subdomain(f); len(reasons) > 0 {
		return "", fmt.Errorf("policy %q: file name %q: %s", key, f, strings.Join(reasons, "; "))
	}
	return f, nil
}

// KeyOf is the policy key of one of the owner's file names.
func (d Dir) KeyOf(file string) (string, bool) {
	rest, ok := strings.CutPrefix(file, d.Owner)
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, ".yaml")
	if !ok {
		return "", false
	}
	scope, name, ok := strings.Cut(rest, ".")
	switch {
	case !ok:
		return "", false
	case scope == "ccnp":
		return name, true
	case strings.HasPrefix(scope, "cnp-"):
		return strings.TrimPrefix(scope, "cnp-") + "/" + name, true
	}
	return "", false
}

// Owned returns the contents of the owner's policy files by file name, and removes the owner's
// temporary files a crash left behind (regular files and symlinks, unlinked, never followed).
func (d Dir) Owned() (map[string]string, error) {
	ents, err := os.ReadDir(d.Path)
	if err != nil {
		return nil, fmt.Errorf("policy directory: %w", err)
	}
	out := map[string]string{}
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "."+d.Owner) && strings.HasSuffix(n, tmpSuffix) {
			if t := e.Type(); t.IsRegular() || t&fs.ModeSymlink != 0 {
				_ = os.Remove(filepath.Join(d.Path, n)) // a leftover: Write retries the removal, and fails saying why
			}
			continue
		}
		if _, ok := d.KeyOf(n); !ok || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d.Path, n))
		if err != nil {
			return nil, fmt.Errorf("policy file: %w", err)
		}
		out[n] = string(b)
	}
	return out, nil
}

// Write puts content into the file by rename from a temporary name in the same directory (the agent
// never sees a half-written file), synced to disk first. The temporary file is created exclusively and
// never through a symlink; one left by a crash is removed first if it is a regular file or a symlink
// (the link itself, never its target), and anything else there fails the write.
func (d Dir) Write(file, content string) (err error) {
	tmp := filepath.Join(d.Path, "."+file+tmpSuffix)
	f, err := createTemp(tmp)
	if err != nil {
		return fmt.Errorf("write policy %s: %w", file, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write policy %s: %w", file, err)
	}
	if err := os.Rename(tmp, filepath.Join(d.Path, file)); err != nil {
		return fmt.Errorf("write policy: %w", err)
	}
	return nil
}

// createTemp creates path for writing, refusing to follow a symlink there (O_EXCL|O_NOFOLLOW); a stale
// regular file or symlink at path is unlinked and the create tried once more.
func createTemp(path string) (*os.File, error) {
	const flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL | syscall.O_NOFOLLOW
	f, err := os.OpenFile(path, flags, 0o644)
	if !errors.Is(err, fs.ErrExist) {
		return f, err
	}
	fi, lerr := os.Lstat(path)
	if lerr != nil {
		return nil, fmt.Errorf("stale temporary file: %w", lerr)
	}
	if t := fi.Mode().Type(); !t.IsRegular() && t&fs.ModeSymlink == 0 {
		return nil, fmt.Errorf("stale temporary file %s is not a regular file or symlink (%s): remove it", path, t)
	}
	if err := os.Remove(path); err != nil {
		return nil, fmt.Errorf("remove stale temporary file: %w", err)
	}
	return os.OpenFile(path, flags, 0o644)
}

// Remove deletes the file; one that is gone is success.
func (d Dir) Remove(file string) error {
	if _, ok := d.KeyOf(file); !ok {
		return fmt.Errorf("remove policy %q: not a file of owner %q", file, d.Owner)
	}
	if err := os.Remove(filepath.Join(d.Path, file)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove policy: %w", err)
	}
	return nil
}
