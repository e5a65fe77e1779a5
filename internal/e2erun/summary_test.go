package e2erun

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// goTestV is a canned go test -v log: a top-level line per entry ("PASS TestA", "FAIL TestB"), a
// subtest under each, and go test's last line.
func goTestV(results ...string) string {
	var b strings.Builder
	failed := false
	for _, r := range results {
		verdict, name, _ := strings.Cut(r, " ")
		failed = failed || verdict == "FAIL"
		b.WriteString("=== RUN   " + name + "\n    bed.go:12: bed up\n")
		b.WriteString("    --- " + verdict + ": " + name + "/sub (0.10s)\n")
		b.WriteString("--- " + verdict + ": " + name + " (1.23s)\n")
	}
	if failed {
		b.WriteString("FAIL\nFAIL\tgithub.com/cilium-docker/cilium-docker/e2e\t9.9s\n")
	} else {
		b.WriteString("PASS\nok  \tgithub.com/cilium-docker/cilium-docker/e2e\t9.9s\n")
	}
	return b.String()
}

func TestParseLog(t *testing.T) {
	l := parseLog(goTestV("PASS TestB", "FAIL TestC", "SKIP TestD", "PASS TestA", "PASS TestA") + "--- PASS: NotATest (0s)\n")
	if l.pass != 4 || l.fail != 1 || l.skip != 1 {
		t.Errorf("counts pass %d fail %d skip %d, want 4 1 1 (top level only)", l.pass, l.fail, l.skip)
	}
	if want := []string{"TestA", "TestB"}; !reflect.DeepEqual(l.passed, want) {
		t.Errorf("passed %v, want %v (sorted, unique, Test names only)", l.passed, want)
	}
	if want := []string{"--- FAIL: TestC/sub (0.10s)", "--- FAIL: TestC (1.23s)"}; !reflect.DeepEqual(l.failLines, want) {
		t.Errorf("fail lines %q, want %q", l.failLines, want)
	}
}

func TestLegSummary(t *testing.T) {
	const leg = "docker20.10-cilium1.20.2"
	want := []string{"TestA", "TestB", "TestC"}
	for _, tt := range []struct {
		name   string
		r      result
		log    string
		want   []string
		lines  []string
		failed bool
	}{
		{"every expected test passed", result{"0", 92}, goTestV("PASS TestA", "PASS TestB", "PASS TestC"), want,
			[]string{"docker20.10-cilium1.20.2     pass   3  fail   0  skip   0     92s"}, false},
		{"a test failed", result{"1", 101}, goTestV("PASS TestA", "FAIL TestB", "PASS TestC"), want, []string{
			"    docker20.10-cilium1.20.2: expected to pass, did not: TestB ",
			"docker20.10-cilium1.20.2     pass   2  fail 1 (of 3 expected)  skip   0    101s",
			"    docker20.10-cilium1.20.2: --- FAIL: TestB/sub (0.10s)",
			"    docker20.10-cilium1.20.2: --- FAIL: TestB (1.23s)",
		}, true},
		{"go test failed with no FAIL line (a panic, a build error)", result{"2", 5}, "# github.com/x\ne2e/x.go:1: syntax error\n", nil,
			[]string{"docker20.10-cilium1.20.2     pass   0  fail 0 (go test rc 2)  skip   0      5s"}, true},
		{"rc 0, a test missing (a skip, or renamed): the exact set fails the leg", result{"0", 90}, goTestV("PASS TestA", "SKIP TestB", "PASS TestC"), want, []string{
			"    docker20.10-cilium1.20.2: expected to pass, did not: TestB ",
			"docker20.10-cilium1.20.2     pass   2  fail 0 (of 3 expected)  skip   1     90s",
		}, true},
		{"rc 0, one renamed: missing and extra", result{"0", 90}, goTestV("PASS TestA", "PASS TestBee", "PASS TestC"), want, []string{
			"    docker20.10-cilium1.20.2: expected to pass, did not: TestB ",
			"    docker20.10-cilium1.20.2: passed, not expected (a renamed test?): TestBee ",
			"docker20.10-cilium1.20.2     pass   3  fail 0 (of 3 expected)  skip   0     90s",
		}, true},
		{"go test rc 1 and the exact set", result{"1", 101}, goTestV("PASS TestA", "PASS TestC"), want, []string{
			"    docker20.10-cilium1.20.2: expected to pass, did not: TestB ",
			"docker20.10-cilium1.20.2     pass   2  fail 0 (go test rc 1) (of 3 expected)  skip   0    101s",
		}, true},
		{"E2E_RUN: no expected set", result{"0", 30}, goTestV("PASS TestTwoNodes"), nil,
			[]string{"docker20.10-cilium1.20.2     pass   1  fail   0  skip   0     30s"}, false},
		{"its build failed", result{rcBuild, 0}, "build of leg " + leg + " failed\n", want,
			[]string{"docker20.10-cilium1.20.2     pass   0  fail 0 (its build failed, above)  skip   0      0s"}, true},
	} {
		lines, failed := legSummary(leg, tt.r, tt.log, tt.want)
		if failed != tt.failed || !reflect.DeepEqual(lines, tt.lines) {
			t.Errorf("%s: failed %v, lines\n%s\nwant %v,\n%s", tt.name, failed, strings.Join(lines, "\n"), tt.failed, strings.Join(tt.lines, "\n"))
		}
	}
}

// TestExactSetFailsOnABrokenExpectation: the real walkthrough leg's log (every test passed) checked
// against an expected set with a test it never ran fails the leg, by name.
func TestExactSetFailsOnABrokenExpectation(t *testing.T) {
	want, err := (Config{}).expected("docker20.10-cilium1.20.2")
	if err != nil {
		t.Fatal(err)
	}
	var passed []string
	for _, n := range want {
		passed = append(passed, "PASS "+n)
	}
	log := goTestV(passed...)
	if lines, failed := legSummary("docker20.10-cilium1.20.2", result{"0", 92}, log, want); failed {
		t.Fatalf("the leg's own set failed: %q", lines)
	}
	broken := append([]string{"TestNoSuchTest"}, want...)
	lines, failed := legSummary("docker20.10-cilium1.20.2", result{"0", 92}, log, broken)
	if !failed || !strings.Contains(lines[0], "expected to pass, did not: TestNoSuchTest ") {
		t.Errorf("a broken expected set: failed %v, lines %q", failed, lines)
	}
}

func TestLongSummary(t *testing.T) {
	const test, leg = "TestAddressWindowAcrossPluginRestart", "docker29.8.1-cilium1.20.2"
	logPath, buildLog := filepath.Join("/l", test+".log"), "/l/build.log"
	for _, tt := range []struct {
		name   string
		r      result
		ok     bool
		log    string
		lines  []string
		failed bool
	}{
		{"passed", result{"0", 681}, true, goTestV("PASS " + test),
			[]string{"docker29.8.1-cilium1.20.2 (aw) pass   1  fail   0  skip   0    681s"}, false},
		{"failed", result{"1", 700}, true, goTestV("FAIL " + test), []string{
			"docker29.8.1-cilium1.20.2 (aw) pass   0  fail   1  skip   0    700s",
			"    docker29.8.1-cilium1.20.2 (aw): TestAddressWindowAcrossPluginRestart failed, see /l/TestAddressWindowAcrossPluginRestart.log",
		}, true},
		{"stopped", result{"143", 60}, true, "=== RUN   " + test + "\n", []string{
			"docker29.8.1-cilium1.20.2 (aw) pass   0  fail 0 (go test rc 143)  skip   0     60s",
			"    docker29.8.1-cilium1.20.2 (aw): TestAddressWindowAcrossPluginRestart failed, see /l/TestAddressWindowAcrossPluginRestart.log",
		}, true},
		{"not started: its pair's build failed", result{}, false, "", []string{
			"docker29.8.1-cilium1.20.2 (aw) pass   0  fail 0 (not started: see /l/build.log)  skip   0      0s",
			"    docker29.8.1-cilium1.20.2 (aw): TestAddressWindowAcrossPluginRestart failed, see /l/TestAddressWindowAcrossPluginRestart.log",
		}, true},
	} {
		lines, failed := longSummary(test, leg, logPath, buildLog, tt.r, tt.ok, tt.log)
		if failed != tt.failed || !reflect.DeepEqual(lines, tt.lines) {
			t.Errorf("%s: failed %v, lines\n%s\nwant %v,\n%s", tt.name, failed, strings.Join(lines, "\n"), tt.failed, strings.Join(tt.lines, "\n"))
		}
	}
}

func TestResultFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "leg.rc")
	if _, ok, err := readResult(p); ok || err != nil {
		t.Errorf("no file: ok %v, %v; want a leg that did not run", ok, err)
	}
	for _, r := range []result{{"0", 92}, {rcBuild, 0}, {"130", 7}} {
		if err := writeResult(p, r); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := readResult(p); !ok || err != nil || got != r {
			t.Errorf("read back %+v, %v, %v; want %+v", got, ok, err, r)
		}
	}
}
