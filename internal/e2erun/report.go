package e2erun

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// summary waits for the long test and the background build, then prints each leg's line (and the
// long test's) after "=== e2e: summary"; ErrFailed when one failed. A leg with no LEG.rc did not run
// (E2E_FAIL_FAST) and has no line.
func (r *runner) summary() error {
	cfg := r.cfg
	var lines []string
	failed := false
	for _, leg := range cfg.Legs {
		res, ok, err := readResult(filepath.Join(cfg.LogDir, leg+".rc"))
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		want, err := cfg.expected(leg)
		if err != nil {
			return err
		}
		l, bad := legSummary(leg, res, readLog(cfg.LogDir, leg+".log"), want)
		lines = append(lines, l...)
		failed = failed || bad
	}
	r.children.Wait()
	if cfg.withLong() {
		logPath := filepath.Join(cfg.LogDir, r.longTest+".log")
		buildLog := filepath.Join(cfg.LogDir, "build.log")
		res, ok, err := readResult(filepath.Join(cfg.LogDir, r.longTest+".rc"))
		if err != nil {
			return err
		}
		if !ok { // its pair's background build failed: it never started
			tail(r.out, readLog(cfg.LogDir, "build.log"), 20)
		}
		text := readLog(cfg.LogDir, r.longTest+".log")
		l, bad := longSummary(r.longTest, r.longLeg, logPath, buildLog, res, ok, text)
		if bad && text != "" {
			tail(r.out, text, 40)
		}
		lines = append(lines, l...)
		failed = failed || bad
	}
	r.logf("summary (logs in %s)", cfg.LogDir)
	fmt.Fprintln(r.out, strings.Join(lines, "\n"))
	if failed {
		return ErrFailed
	}
	return nil
}

// tail prints the last n lines of text, as tail -n.
func tail(w io.Writer, text string, n int) {
	lines := strings.SplitAfter(strings.TrimSuffix(text, "\n"), "\n")
	if text == "" {
		return
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	fmt.Fprintln(w, strings.Join(lines, ""))
}
