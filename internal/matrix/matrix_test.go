package matrix_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

func legNames() []string {
	var names []string
	for _, l := range matrix.Legs() {
		names = append(names, l.Name())
	}
	return names
}

func TestLegs(t *testing.T) {
	want := []string{matrix.LegCurrent, matrix.LegDebian, matrix.LegUpgrade, matrix.LegWalkthrough}
	if got := legNames(); !slices.Equal(got, want) {
		t.Errorf("legs %v, want %v in this order", got, want)
	}
	for _, l := range matrix.Legs() {
		if !slices.Contains(matrix.Engines(), l.Engine) || !slices.Contains(matrix.Agents(), l.Agent) {
			t.Errorf("leg %s: engine or agent not in Engines %v, Agents %v", l.Name(), matrix.Engines(), matrix.Agents())
		}
		if p, err := matrix.ParseLeg(l.Name()); err != nil || p != l {
			t.Errorf("ParseLeg(%q) = %+v, %v; want %+v", l.Name(), p, err, l)
		}
	}
	if p, err := matrix.ParseLeg("docker29.8.1-cilium1.19.6"); err != nil || p.Engine != "29.8.1" || p.Agent != "1.19.6" || p.Kind != "" {
		t.Errorf("an ad-hoc leg parses as %+v, %v", p, err)
	}
	for _, bad := range []string{"", "docker29.8.1", "docker29-cilium1.20.2", "docker29.8.1-cilium1.20", "x" + matrix.LegCurrent} {
		if _, err := matrix.ParseLeg(bad); err == nil {
			t.Errorf("ParseLeg(%q): no error", bad)
		}
	}
	if _, err := matrix.LegNamed("docker29.8.1-cilium1.19.6"); err == nil {
		t.Error("LegNamed of a leg not in the matrix: no error")
	}
}

func TestTable(t *testing.T) {
	tests := matrix.Tests()
	names := make([]string, len(tests))
	for i, tt := range tests {
		names[i] = tt.Name
		if len(tt.Legs) == 0 {
			t.Errorf("%s runs on no leg", tt.Name)
		}
		for _, leg := range tt.Legs {
			if _, err := matrix.LegNamed(leg); err != nil {
				t.Errorf("%s: %v", tt.Name, err)
			}
		}
		if len(slices.Compact(slices.Clone(tt.Legs))) != len(tt.Legs) {
			t.Errorf("%s names a leg twice: %v", tt.Name, tt.Legs)
		}
		if tt.Upgrade {
			for _, leg := range tt.Legs {
				if l, _ := matrix.LegNamed(leg); l.Agent == matrix.UpgradeTo {
					t.Errorf("%s upgrades to %s on leg %s, whose agent is already %s", tt.Name, matrix.UpgradeTo, leg, l.Agent)
				}
			}
		}
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("the table is not sorted by name, or names a test twice: %v", names)
	}
	for _, leg := range legNames() {
		if on, err := matrix.TestsOn(leg); err != nil || len(on) == 0 {
			t.Errorf("leg %s runs %v, %v", leg, on, err)
		}
	}
	if _, err := matrix.TestsOn("docker29.8.1-cilium1.19.6"); err == nil {
		t.Error("TestsOn a leg not in the matrix: no error")
	}
}

// TestRunPattern: each leg's -run pattern matches its tests and no other name of the table, nor a
// name that only begins or ends like one of them.
func TestRunPattern(t *testing.T) {
	for _, leg := range legNames() {
		p, err := matrix.RunPattern(leg)
		if err != nil {
			t.Fatalf("%s: %v", leg, err)
		}
		re := regexp.MustCompile(p)
		on, _ := matrix.TestsOn(leg)
		for _, tt := range matrix.Tests() {
			if want := slices.Contains(on, tt.Name); re.MatchString(tt.Name) != want {
				t.Errorf("leg %s: pattern %s matches %s: %v, want %v", leg, p, tt.Name, !want, want)
			}
			if re.MatchString(tt.Name+"X") || re.MatchString("X"+tt.Name) {
				t.Errorf("leg %s: pattern %s is not anchored", leg, p)
			}
		}
	}
	name, leg, err := matrix.LongTest()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range legNames() {
		if p, _ := matrix.RunPattern(l); regexp.MustCompile(p).MatchString(name) {
			t.Errorf("leg %s runs the long test %s, which runs on a bed of its own (leg %s)", l, name, leg)
		}
	}
}

func TestAgentsOf(t *testing.T) {
	for leg, want := range map[string][]string{
		matrix.LegCurrent:           {matrix.CiliumCurrent},
		matrix.LegUpgrade:           {matrix.CiliumPrevious, matrix.UpgradeTo},
		"docker29.8.1-cilium1.19.6": {"1.19.6"},
	} {
		if got, err := matrix.AgentsOf(leg); err != nil || !slices.Equal(got, want) {
			t.Errorf("AgentsOf(%s) = %v, %v; want %v", leg, got, err, want)
		}
	}
	if _, err := matrix.AgentsOf("cilium1.20.2"); err == nil {
		t.Error("AgentsOf a malformed leg: no error")
	}
}

// TestEtcdIsGoModsPin: the bed builds etcd of the version go.mod pins (scripts/build-etcd.sh reads
// go.mod); the table must say the same.
func TestEtcdIsGoModsPin(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*go\.etcd\.io/etcd/server/v3 (v\S+)`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("go.mod pins no go.etcd.io/etcd/server/v3")
	}
	if got := strings.TrimPrefix(m[1], "v"); got != matrix.Etcd {
		t.Errorf("go.mod pins etcd %s, matrix.Etcd is %s", got, matrix.Etcd)
	}
}
