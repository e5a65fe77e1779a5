package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

var errNoBusybox = errors.New("no /bin/busybox for the test image (apt-get install busybox)")

// imageTar builds the busybox rootfs tarball of the test image once into the cache and returns its path.
func (c Config) imageTar() (string, error) {
	dir := filepath.Join(c.Cache, "testimg")
	tar := filepath.Join(dir, "cdbusybox-rootfs.tar")
	if fi, err := os.Stat(tar); err == nil && fi.Size() > 0 {
		return tar, nil
	}
	if !executable("/bin/busybox") {
		return "", errNoBusybox
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, ".build.")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "rootfs")
	if err := writeRootfs(root); err != nil {
		return "", fmt.Errorf("test image rootfs: %w", err)
	}
	if out, err := exec.Command("tar", "-C", root, "-cf", filepath.Join(tmp, "rootfs.tar"), ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("tar the test image rootfs: %w: %s", err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "rootfs.tar"), tar); err != nil {
		return "", err
	}
	c.logf("built test image rootfs %s", tar)
	return tar, nil
}

// writeRootfs lays out busybox with a link per applet, and root in passwd and group.
func writeRootfs(root string) error {
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "run", "usr"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky); err != nil {
		return err
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), bb, 0o755); err != nil {
		return err
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	var errs []error
	for _, a := range strings.Fields(string(list)) {
		if a != "busybox" && !strings.Contains(a, "/") { // linking busybox onto itself destroys it
			errs = append(errs, os.Symlink("busybox", filepath.Join(root, "bin", a)))
		}
	}
	errs = append(errs,
		os.Symlink("bin", filepath.Join(root, "sbin")),
		os.Symlink("../bin", filepath.Join(root, "usr", "bin")),
		os.Symlink("../bin", filepath.Join(root, "usr", "sbin")),
		os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644),
		os.WriteFile(filepath.Join(root, "etc", "group"), []byte("root:x:0:\n"), 0o644))
	return errors.Join(errs...)
}
