package e2erun

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// legs runs the legs: one after the other, each building in front first (but the first, built
// already), or side by side, each on its bed, their output printed after all ended.
func (r *runner) legs(ctx context.Context) {
	cfg := r.cfg
	if cfg.Parallel {
		// The legs wait on daemons more than they compute: side by side, each on a bed of its own.
		r.logf("legs side by side (E2E_PARALLEL=1): %s", strings.Join(cfg.Legs, " "))
		var wg sync.WaitGroup
		for i := range cfg.Legs {
			wg.Go(func() { r.runLeg(ctx, i) })
		}
		wg.Wait()
		for _, leg := range cfg.Legs {
			r.logf("leg %s: go test output", leg)
			_, _ = io.WriteString(r.out, readLog(cfg.LogDir, leg+".log"))
		}
		return
	}
	for i, leg := range cfg.Legs {
		if ctx.Err() != nil {
			return
		}
		if i > 0 {
			r.logf("leg %s: build (waits for the background build, or cached)", leg)
			if err := r.buildLeg(ctx, leg, false, cfg.Err); err != nil {
				fmt.Fprintln(cfg.Err, err)
				_ = os.WriteFile(filepath.Join(cfg.LogDir, leg+".log"), []byte("build of leg "+leg+" failed\n"), 0o644)
				_ = writeResult(filepath.Join(cfg.LogDir, leg+".rc"), result{rc: rcBuild})
				if cfg.FailFast {
					return
				}
				continue
			}
		}
		if rc := r.runLeg(ctx, i); rc != 0 && cfg.FailFast {
			return
		}
	}
}

// runLeg runs leg i's go test on its bed, fresh, into LOG_DIR/LEG.log (and, one leg after the other,
// to the run's output as it comes), writes LEG.rc ("rc seconds"), and tears the bed down. It returns
// go test's exit code.
func (r *runner) runLeg(ctx context.Context, i int) int {
	cfg, leg := r.cfg, r.cfg.Legs[i]
	id := cfg.bedID(i)
	out := filepath.Join(cfg.LogDir, leg+".log")
	rcFile := filepath.Join(cfg.LogDir, leg+".rc")
	filter, err := cfg.runFilter(leg)
	if err != nil {
		return r.legError(leg, rcFile, err)
	}
	timeout, deadline, err := cfg.goTimeout()
	if err != nil {
		return r.legError(leg, rcFile, err)
	}
	r.teardown(ctx, id)
	bed := id
	if bed == "" {
		bed = "default"
	}
	r.logf("leg %s: go test -v -run=%s ./e2e/ on bed '%s' (log %s)", leg, filter, bed, out)
	f, err := os.Create(out)
	if err != nil {
		return r.legError(leg, rcFile, err)
	}
	defer f.Close()
	var w io.Writer = f
	if !cfg.Parallel {
		w = io.MultiWriter(f, r.out)
	}
	start := time.Now()
	rc, err := r.child(ctx, []string{"go", "test", "-count=1", "-timeout", timeout, "-v", "-run=" + filter, "./e2e/"},
		[]string{"TESTBED_ID=" + id, "E2E_LEG=" + leg, "E2E_UPGRADE_TO=" + r.upgradeTo}, w, w, deadline)
	if err != nil {
		fmt.Fprintf(w, "e2e: %v\n", err)
		rc = 1
	}
	if err := writeResult(rcFile, result{rc: fmt.Sprint(rc), secs: int(time.Since(start).Seconds())}); err != nil {
		fmt.Fprintln(cfg.Err, err)
	}
	r.teardown(ctx, id)
	return rc
}

// legError records a leg that could not start its go test: its rc is 1, its log the error.
func (r *runner) legError(leg, rcFile string, err error) int {
	fmt.Fprintf(r.cfg.Err, "e2e: leg %s: %v\n", leg, err)
	_ = writeResult(rcFile, result{rc: "1"})
	return 1
}

// startLong starts the long test on its bed (TESTBED_ID=aw) in the background, with its leg's
// versions; LOG_DIR/TEST.rc gets "rc seconds" when it ends.
func (r *runner) startLong(ctx context.Context) {
	cfg := r.cfg
	out := filepath.Join(cfg.LogDir, r.longTest+".log")
	r.logf("%s on its own bed (TESTBED_ID=aw, %s), alongside the legs (log %s)", r.longTest, r.longLeg, out)
	r.longStarted.Store(true)
	r.children.Go(func() {
		start := time.Now()
		rc := 1
		defer func() {
			res := result{rc: fmt.Sprint(rc), secs: int(time.Since(start).Seconds())}
			if err := writeResult(filepath.Join(cfg.LogDir, r.longTest+".rc"), res); err != nil {
				fmt.Fprintln(cfg.Err, err)
			}
		}()
		r.teardown(ctx, longBed)
		f, err := os.Create(out)
		if err != nil {
			fmt.Fprintln(cfg.Err, err)
			return
		}
		defer f.Close()
		rc, err = r.child(ctx, []string{"go", "test", "-count=1", "-timeout", longTimeout, "-v", "-run", "^" + r.longTest + "$", "./e2e/"},
			[]string{"TESTBED_ID=" + longBed, "E2E_LEG=" + r.longLeg}, f, f, longDeadline)
		if err != nil {
			fmt.Fprintf(f, "e2e: %v\n", err)
			rc = 1
		}
	})
}

// longBed is the long test's TESTBED_ID.
const longBed = "aw"

// teardown tears bed id down (scripts/testbed.sh down-all), quietly: a bed that is not up is no error.
func (r *runner) teardown(ctx context.Context, id string) {
	_, _ = r.child(ctx, []string{"scripts/testbed.sh", "down-all"}, []string{"TESTBED_ID=" + id}, nil, nil, teardownDeadline)
}

// teardownAll tears down the beds this run used: each leg's, and the long test's when this run
// started it (another run's may be up, and a run whose long test did not start leaves it alone).
func (r *runner) teardownAll(ctx context.Context) {
	seen := map[string]bool{}
	for i := range r.cfg.Legs {
		if id := r.cfg.bedID(i); !seen[id] {
			seen[id] = true
			r.teardown(ctx, id)
		}
	}
	if r.longStarted.Load() {
		r.teardown(ctx, longBed)
	}
}
