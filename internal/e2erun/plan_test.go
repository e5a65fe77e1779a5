package e2erun

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

func TestCheckLegs(t *testing.T) {
	for _, tt := range []struct {
		legs []string
		run  string
		ok   bool
	}{
		{LegNames(), "", true},
		{[]string{matrix.LegWalkthrough}, "", true},
		{[]string{"docker29.8.1-cilium1.19.6"}, "", false},              // ad-hoc: needs E2E_RUN
		{[]string{"docker29.8.1-cilium1.19.6"}, "^TestTwoNodes$", true}, // ad-hoc with a pattern
		{[]string{matrix.LegCurrent, "bogus"}, "", false},
		{[]string{"bogus"}, "^TestTwoNodes$", false},
		{[]string{"docker29.8.1-cilium1.20"}, "x", false},
	} {
		if err := CheckLegs(tt.legs, tt.run); (err == nil) != tt.ok {
			t.Errorf("CheckLegs(%v, %q) = %v, want ok %v", tt.legs, tt.run, err, tt.ok)
		}
	}
}

func TestPlan(t *testing.T) {
	cur, deb, upg, walk := matrix.LegCurrent, matrix.LegDebian, matrix.LegUpgrade, matrix.LegWalkthrough
	for _, tt := range []struct {
		name                      string
		legs                      []string
		long, parallel, buildOnly bool
		want                      Plan
	}{
		{"the matrix, long test on the first leg's pair", []string{cur, deb, upg, walk}, true, false, false,
			Plan{Front: []string{cur}, Background: []string{deb, upg, walk}, LongAfter: LongFront, EachLeg: true}},
		{"long test's pair is not the first leg's", []string{walk, deb}, true, false, false,
			Plan{Front: []string{walk}, Background: []string{cur, deb}, LongAfter: LongBackground, EachLeg: true}},
		{"one leg, no long test: nothing in the background", []string{walk}, false, false, false,
			Plan{Front: []string{walk}}},
		{"one leg, the long test's on its pair: started after the front build", []string{cur}, true, false, false,
			Plan{Front: []string{cur}, LongAfter: LongFront}},
		{"one other leg and the long test", []string{walk}, true, false, false,
			Plan{Front: []string{walk}, Background: []string{cur}, LongAfter: LongBackground}},
		{"side by side: every build in front, the long test's pair last", []string{deb, walk}, true, true, false,
			Plan{Front: []string{deb, walk, cur}, LongAfter: LongFront}},
		{"--build: the long test's pair first", []string{deb, walk}, true, false, true,
			Plan{Front: []string{cur, deb, walk}}},
		{"--build, no long test", []string{deb}, false, false, true,
			Plan{Front: []string{deb}}},
	} {
		if got := plan(tt.legs, tt.long, tt.parallel, tt.buildOnly, cur); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: plan = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestBuildSteps(t *testing.T) {
	for _, tt := range []struct {
		leg  string
		want []string
	}{
		{matrix.LegCurrent, []string{"scripts/build-cilium.sh " + matrix.CiliumCurrent, "scripts/build-etcd.sh", "scripts/build-compose.sh", "scripts/build-docker.sh " + matrix.DockerCurrent}},
		{matrix.LegUpgrade, []string{"scripts/build-cilium.sh " + matrix.CiliumPrevious, "scripts/build-cilium.sh " + matrix.UpgradeTo, "scripts/build-etcd.sh", "scripts/build-compose.sh", "scripts/build-docker.sh " + matrix.DockerCurrent}},
		{matrix.LegWalkthrough, []string{"scripts/build-cilium.sh " + matrix.CiliumCurrent, "scripts/build-etcd.sh", "scripts/build-compose.sh"}}, // Debian's engine: installed
		{"docker20.10.24-cilium1.19.6", []string{"scripts/build-cilium.sh 1.19.6", "scripts/build-etcd.sh", "scripts/build-compose.sh"}},
	} {
		steps, err := buildSteps(tt.leg)
		var got []string
		for _, s := range steps {
			got = append(got, strings.Join(s, " "))
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("buildSteps(%s) = %q, %v; want %q", tt.leg, got, err, tt.want)
		}
	}
	if _, err := buildSteps("bogus"); err == nil {
		t.Error("buildSteps(bogus): no error")
	}
}

func TestConfig(t *testing.T) {
	c := Config{BedID: "mybed42"}
	if got := c.bedID(1); got != "mybed42" {
		t.Errorf("one leg after the other: bed %q, want the caller's", got)
	}
	c.Parallel = true
	if got := c.bedID(2); got != "mybedl2" {
		t.Errorf("side by side: bed %q, want mybedl2", got)
	}
	if got := (Config{Parallel: true}).bedID(0); got != "l0" {
		t.Errorf("side by side, no TESTBED_ID: bed %q, want l0", got)
	}
	want, _ := matrix.RunPattern(matrix.LegWalkthrough)
	if got, err := (Config{}).runFilter(matrix.LegWalkthrough); err != nil || got != want {
		t.Errorf("runFilter = %q, %v; want the matrix's %q", got, err, want)
	}
	if got, _ := (Config{Run: "^TestX$"}).runFilter(matrix.LegWalkthrough); got != "^TestX$" {
		t.Errorf("runFilter with E2E_RUN = %q", got)
	}
	if got, _ := (Config{Run: "^TestX$"}).expected(matrix.LegWalkthrough); got != nil {
		t.Errorf("expected with E2E_RUN = %v, want none", got)
	}
	if got, _ := (Config{}).expected(matrix.LegWalkthrough); len(got) == 0 {
		t.Error("expected of the walkthrough leg: none")
	}
	for _, tt := range []struct {
		in   string
		want string
		ok   bool
	}{{"", "45m", true}, {"10m", "10m", true}, {"45", "", false}, {"-1m", "", false}} {
		got, d, err := (Config{Timeout: tt.in}).goTimeout()
		if (err == nil) != tt.ok || got != tt.want || (tt.ok && d <= childMargin) {
			t.Errorf("goTimeout(%q) = %q, %v, %v", tt.in, got, d, err)
		}
	}
	if (Config{Long: true, Run: "x"}).withLong() || !(Config{Long: true}).withLong() {
		t.Error("withLong: E2E_RUN must leave the long test out")
	}
}
