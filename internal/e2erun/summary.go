package e2erun

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// rcBuild is a leg's rc when its build failed and its tests never ran.
const rcBuild = "build"

// result is what a leg's LEG.rc holds: go test's exit code (or rcBuild) and the seconds it ran.
type result struct {
	rc   string
	secs int
}

func writeResult(path string, r result) error {
	return os.WriteFile(path, fmt.Appendf(nil, "%s %d\n", r.rc, r.secs), 0o644)
}

// readResult reads LEG.rc; ok is false when there is none (the leg did not run).
func readResult(path string) (r result, ok bool, err error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return r, false, fmt.Errorf("%s: want \"rc seconds\", got %q", path, b)
	}
	secs, err := strconv.Atoi(f[1])
	if err != nil {
		return r, false, fmt.Errorf("%s: seconds %q: %w", path, f[1], err)
	}
	return result{rc: f[0], secs: secs}, true, nil
}

// goTestLog is what the summary reads from a go test -v log: the top-level results, the top-level
// tests that passed, by name, and every FAIL line (subtests too), trimmed.
type goTestLog struct {
	pass, fail, skip int
	passed           []string // sorted, unique
	failLines        []string
}

var (
	topPass  = regexp.MustCompile(`^--- PASS: (Test[A-Za-z0-9_]*) `)
	anyFail  = regexp.MustCompile(`^\s*--- FAIL`)
	counters = []struct {
		prefix string
		count  func(*goTestLog) *int
	}{
		{"--- PASS", func(l *goTestLog) *int { return &l.pass }},
		{"--- FAIL", func(l *goTestLog) *int { return &l.fail }},
		{"--- SKIP", func(l *goTestLog) *int { return &l.skip }},
	}
)

func parseLog(text string) goTestLog {
	var l goTestLog
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		for _, c := range counters {
			if strings.HasPrefix(line, c.prefix) {
				*c.count(&l)++
			}
		}
		if m := topPass.FindStringSubmatch(line); m != nil {
			l.passed = append(l.passed, m[1])
		}
		if anyFail.MatchString(line) {
			l.failLines = append(l.failLines, strings.TrimSpace(line))
		}
	}
	slices.Sort(l.passed)
	l.passed = slices.Compact(l.passed)
	return l
}

// exactSet compares the tests a leg had to pass (sorted) with those that passed (sorted): missing did
// not pass, extra passed unexpected (a renamed test?).
func exactSet(want, passed []string) (missing, extra []string) {
	for _, w := range want {
		if _, found := slices.BinarySearch(passed, w); !found {
			missing = append(missing, w)
		}
	}
	for _, p := range passed {
		if _, found := slices.BinarySearch(want, p); !found {
			extra = append(extra, p)
		}
	}
	return missing, extra
}

// summaryLine is a leg's line of the summary: LEG  pass N  fail N  skip N  Ss (fail may carry a note).
func summaryLine(name string, pass int, fail string, skip int, secs int) string {
	return fmt.Sprintf("%-28s pass %3d  fail %3s  skip %3d  %5ds", name, pass, fail, skip, secs)
}

// names is a list of test names as the summary prints them, each followed by a space.
func names(list []string) string {
	var b strings.Builder
	for _, n := range list {
		b.WriteString(n + " ")
	}
	return b.String()
}

// legSummary is the summary's lines of a leg from its log and result, and whether it failed: go test
// failed, its build failed, or the tests that passed are not exactly want (when want is not empty).
func legSummary(leg string, r result, logText string, want []string) (lines []string, failed bool) {
	l := parseLog(logText)
	fail := strconv.Itoa(l.fail)
	rcBad := r.rc != "0"
	switch {
	case r.rc == rcBuild:
		fail = "0 (its build failed, above)"
	case rcBad && l.fail == 0:
		fail += " (go test rc " + r.rc + ")"
	}
	if len(want) > 0 && r.rc != rcBuild {
		if missing, extra := exactSet(want, l.passed); len(missing)+len(extra) > 0 {
			rcBad = true
			fail += fmt.Sprintf(" (of %d expected)", len(want))
			if len(missing) > 0 {
				lines = append(lines, fmt.Sprintf("    %s: expected to pass, did not: %s", leg, names(missing)))
			}
			if len(extra) > 0 {
				lines = append(lines, fmt.Sprintf("    %s: passed, not expected (a renamed test?): %s", leg, names(extra)))
			}
		}
	}
	lines = append(lines, summaryLine(leg, l.pass, fail, l.skip, r.secs))
	if rcBad {
		for _, f := range l.failLines {
			lines = append(lines, fmt.Sprintf("    %s: %s", leg, f))
		}
	}
	return lines, rcBad
}

// longSummary is the summary's lines of the long test, run on leg's versions: started (r from its
// .rc) or not (its pair's background build failed: ok false).
func longSummary(test, leg, logPath, buildLog string, r result, ok bool, logText string) (lines []string, failed bool) {
	name := leg + " (aw)"
	if !ok {
		fail := "0 (not started: see " + buildLog + ")"
		return []string{summaryLine(name, 0, fail, 0, 0), fmt.Sprintf("    %s: %s failed, see %s", name, test, logPath)}, true
	}
	l := parseLog(logText)
	fail := strconv.Itoa(l.fail)
	if r.rc != "0" && l.fail == 0 {
		fail += " (go test rc " + r.rc + ")"
	}
	lines = []string{summaryLine(name, l.pass, fail, 0, r.secs)}
	if r.rc != "0" {
		lines = append(lines, fmt.Sprintf("    %s: %s failed, see %s", name, test, logPath))
	}
	return lines, r.rc != "0"
}

// readLog is a log's text; a missing log reads empty (grep -c of a missing file counts nothing).
func readLog(dir, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return string(b)
}
