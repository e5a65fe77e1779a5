package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSystemdUnit verifies contrib/systemd/cilium-docker.service with systemd-analyze (with ExecStart
// pointed at an existing file, which verify requires) and checks its ordering and hardening lines.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join(repoRoot(), "contrib", "systemd", "cilium-docker.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{
		"Before=docker.service", "After=cilium.service", "Wants=cilium.service",
		"ExecStart=/usr/local/bin/cilium-docker", "Restart=on-failure",
		"CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE", "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "ReadWritePaths=/run/docker/plugins",
	} {
		if !slices.Contains(strings.Split(string(unit), "\n"), l) {
			t.Errorf("cilium-docker.service lacks the line %q", l)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	bin, err := os.Executable() // any existing executable: verify only checks that it exists
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	patched := strings.Replace(string(unit), "ExecStart=/usr/local/bin/cilium-docker", "ExecStart="+bin, 1)
	path := filepath.Join(dir, "cilium-docker.service")
	if err := os.WriteFile(path, []byte(patched), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	// verify exits 0 on unknown keys and bad values and only prints them: any output is a failure.
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
