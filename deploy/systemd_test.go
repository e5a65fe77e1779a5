package deploy

import (
	"bytes"
	"fmt"
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
		"CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "ReadWritePaths=/run/docker/plugins",
	} {
		if !slices.Contains(strings.Split(string(unit), "\n"), l) {
			t.Errorf("cilium-docker.service lacks the line %q", l)
		}
	}
	for _, p := range unitProblems(string(unit)) {
		t.Errorf("cilium-docker.service: %s", p)
	}
	// The policy sync's drop-in the unit's comment shows: with it, the unit passes a policy directory,
	// and that directory must be writable.
	dropIn := commentedDropIn(string(unit))
	if dropIn == "" {
		t.Fatal("cilium-docker.service's comment shows no drop-in for the policy sync (#   [Service] ...)")
	}
	withSync := string(unit) + "\n" + dropIn
	if dirs := policyDirs(withSync); len(dirs) == 0 {
		t.Errorf("the policy sync's drop-in passes no policy directory:\n%s", dropIn)
	}
	for _, p := range unitProblems(withSync) {
		t.Errorf("cilium-docker.service with its policy sync drop-in: %s", p)
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	bin, err := os.Executable() // any existing executable: verify only checks that it exists
	if err != nil {
		t.Fatal(err)
	}
	for _, withDropIn := range []bool{false, true} {
		dir := t.TempDir()
		patched := strings.Replace(string(unit), "ExecStart=/usr/local/bin/cilium-docker", "ExecStart="+bin, 1)
		path := filepath.Join(dir, "cilium-docker.service")
		if err := os.WriteFile(path, []byte(patched), 0o644); err != nil {
			t.Fatal(err)
		}
		if withDropIn { // systemd-analyze reads the drop-in directory beside the unit
			if err := os.Mkdir(path+".d", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(path+".d", "policy-sync.conf"), []byte(dropIn), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
		// verify exits 0 on unknown keys and bad values and only prints them: any output is a failure.
		if err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("systemd-analyze verify (policy sync drop-in: %v): %v\n%s", withDropIn, err, out)
		}
	}
}

// TestUnitProblems: the unit's checks find what they are for.
func TestUnitProblems(t *testing.T) {
	const families = "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6\n"
	tests := []struct {
		name, unit string
		want       []string // a substring of each problem, in order; none: no problem
	}{
		{"no policy sync", "[Service]\nExecStart=/usr/local/bin/cilium-docker\n" + families, nil},
		{"no AF_INET6", "[Service]\nExecStart=/usr/local/bin/cilium-docker\nRestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET\n",
			[]string{"RestrictAddressFamilies lacks AF_INET6"}},
		{"no RestrictAddressFamilies at all", "[Service]\nExecStart=/usr/local/bin/cilium-docker\n",
			[]string{"RestrictAddressFamilies lacks AF_UNIX", "AF_NETLINK", "AF_INET", "AF_INET6"}},
		{"flag, not writable", "[Service]\nExecStart=/usr/local/bin/cilium-docker --policy-dir /etc/cilium/policies\n" + families,
			[]string{"ReadWritePaths= lacks /etc/cilium/policies"}},
		{"flag with =, not writable", "[Service]\nExecStart=/usr/local/bin/cilium-docker --policy-dir=/etc/cilium/policies\n" + families,
			[]string{"ReadWritePaths= lacks /etc/cilium/policies"}},
		{"environment, not writable", "[Service]\nEnvironment=CILIUM_DOCKER_POLICY_DIR=/etc/cilium/policies \"CILIUM_DOCKER_NODE_NAME=n1\"\nExecStart=/usr/local/bin/cilium-docker\n" + families,
			[]string{"ReadWritePaths= lacks /etc/cilium/policies"}},
		{"a sibling is not the directory", "[Service]\nExecStart=/usr/local/bin/cilium-docker --policy-dir /etc/cilium/policies\nReadWritePaths=/etc/cilium/policies-old\n" + families,
			[]string{"ReadWritePaths= lacks /etc/cilium/policies"}},
		{"writable", "[Service]\nExecStart=/usr/local/bin/cilium-docker --policy-dir /etc/cilium/policies\nReadWritePaths=/run/docker/plugins /etc/cilium/policies\n" + families, nil},
		{"writable parent, optional", "[Service]\nEnvironment=CILIUM_DOCKER_POLICY_DIR=/etc/cilium/policies/\nExecStart=/usr/local/bin/cilium-docker\nReadWritePaths=-/etc/cilium\n" + families, nil},
		{"a commented line is no setting", "[Service]\nExecStart=/usr/local/bin/cilium-docker --policy-dir /etc/cilium/policies\n#ReadWritePaths=/etc/cilium/policies\n" + families,
			[]string{"ReadWritePaths= lacks /etc/cilium/policies"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unitProblems(tt.unit)
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %d like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d: %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}

// unitSettings returns the values of key in the unit's setting lines (comments skipped), in order.
func unitSettings(unit, key string) []string {
	var out []string
	for _, l := range strings.Split(unit, "\n") {
		l = strings.TrimSpace(l)
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, ";") && strings.TrimSpace(k) == key {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// policyDirs returns the policy directories the unit gives the plugin: --policy-dir on ExecStart,
// CILIUM_DOCKER_POLICY_DIR in Environment=.
func policyDirs(unit string) []string {
	var dirs []string
	for _, v := range unitSettings(unit, "ExecStart") {
		args := strings.Fields(v)
		for i, a := range args {
			switch {
			case (a == "--policy-dir" || a == "-policy-dir") && i+1 < len(args):
				dirs = append(dirs, args[i+1])
			case strings.HasPrefix(a, "--policy-dir="), strings.HasPrefix(a, "-policy-dir="):
				_, d, _ := strings.Cut(a, "=")
				dirs = append(dirs, d)
			}
		}
	}
	for _, v := range unitSettings(unit, "Environment") {
		for _, a := range strings.Fields(v) {
			if d, ok := strings.CutPrefix(strings.Trim(a, `"'`), "CILIUM_DOCKER_POLICY_DIR="); ok {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

// unitProblems checks what the plugin needs of its sandbox: the socket families it uses (AF_INET6: an
// IPv6 etcd endpoint or agent address), and every policy directory it passes writable under
// ProtectSystem=strict (ReadWritePaths= names it or a parent).
func unitProblems(unit string) []string {
	var problems []string
	families := strings.Fields(strings.Join(unitSettings(unit, "RestrictAddressFamilies"), " "))
	for _, f := range []string{"AF_UNIX", "AF_NETLINK", "AF_INET", "AF_INET6"} {
		if !slices.Contains(families, f) {
			problems = append(problems, "RestrictAddressFamilies lacks "+f)
		}
	}
	var writable []string
	for _, v := range unitSettings(unit, "ReadWritePaths") {
		for _, p := range strings.Fields(v) {
			writable = append(writable, filepath.Clean(strings.TrimLeft(p, "-+")))
		}
	}
	for _, d := range policyDirs(unit) {
		d = filepath.Clean(d)
		if !slices.ContainsFunc(writable, func(w string) bool {
			return w == d || strings.HasPrefix(d, strings.TrimSuffix(w, "/")+"/")
		}) {
			problems = append(problems, fmt.Sprintf("the policy sync writes %s (--policy-dir), and ReadWritePaths= lacks %s: ProtectSystem=strict keeps it read-only", d, d))
		}
	}
	return problems
}

// commentedDropIn returns the drop-in the unit's comment shows: the commented lines from "#   [Service]"
// on that are indented the same, without the comment marker.
func commentedDropIn(unit string) string {
	var b strings.Builder
	in := false
	for _, l := range strings.Split(unit, "\n") {
		body, ok := strings.CutPrefix(l, "#   ")
		switch {
		case ok && body == "[Service]":
			in = true
		case !ok:
			in = false
		}
		if in {
			b.WriteString(body + "\n")
		}
	}
	return b.String()
}
