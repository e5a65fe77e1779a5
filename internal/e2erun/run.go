package e2erun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

// ErrFailed is a run that ended with a failing leg or long test; the summary says which.
var ErrFailed = errors.New("e2e: a leg failed")

// runner is one run: its config, the matrix's long test and upgrade target, and the streams the
// children's output and the run's own lines share.
type runner struct {
	cfg       Config
	longTest  string
	longLeg   string
	upgradeTo string
	out       io.Writer      // cfg.Out, one write at a time
	children  sync.WaitGroup // the background build and the long test
	// longStarted: this run started the long test, so its bed (aw) is this run's to tear down.
	longStarted atomic.Bool
}

// Run runs the e2e tier as cfg says: the builds, the legs, the long test, the teardown of the beds it
// used, and the summary. It returns ErrFailed when a leg or the long test failed, and ctx's error when
// a signal stopped it (no summary then).
func Run(ctx context.Context, cfg Config) error {
	if len(cfg.Legs) == 0 {
		cfg.Legs = LegNames()
	}
	if err := CheckLegs(cfg.Legs, cfg.Run); err != nil {
		return err
	}
	if len(cfg.Legs) < 2 {
		cfg.Parallel = false
	}
	if cfg.LogDir == "" {
		cfg.LogDir = "/tmp/cilium-docker-e2e"
	}
	longTest, longLeg, err := matrix.LongTest()
	if err != nil {
		return err
	}
	r := &runner{cfg: cfg, longTest: longTest, longLeg: longLeg, upgradeTo: matrix.UpgradeTo, out: &lockedWriter{w: cfg.Out}}
	p := plan(cfg.Legs, cfg.withLong(), cfg.Parallel, cfg.BuildOnly, longLeg)
	if cfg.BuildOnly {
		for _, leg := range p.Front {
			if err := r.buildLeg(ctx, leg, false, cfg.Err); err != nil {
				return err
			}
		}
		return nil
	}
	return r.run(ctx, p)
}

func (r *runner) run(ctx context.Context, p Plan) (err error) {
	cfg := r.cfg
	if cfg.PluginBin == "" { // the binary under test is always this checkout's
		rc, err := r.child(ctx, []string{"make", "build"}, nil, cfg.Out, cfg.Err, makeDeadline)
		if err != nil {
			return fmt.Errorf("make build: %w", err)
		}
		if rc != 0 {
			return fmt.Errorf("make build: exit %d", rc)
		}
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(cfg.LogDir, "*.rc"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	// The background build and the long test stop with this context; the beds are torn down on every
	// way out.
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer func() {
		stopBackground()
		r.children.Wait()
		r.teardownAll(context.WithoutCancel(ctx))
	}()
	if err := r.builds(ctx, bgCtx, p); err != nil {
		return err
	}
	r.legs(ctx)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("e2e: stopped: %w", err)
	}
	return r.summary()
}

// builds runs the plan's front builds, starts its background ones, and starts the long test when
// the plan says.
func (r *runner) builds(ctx, bgCtx context.Context, p Plan) error {
	for i, leg := range p.Front {
		if i < len(r.cfg.Legs) { // the legs' own, not the long test's pair after them
			r.logf("leg %s: build (cached when built)", leg)
		}
		if err := r.buildLeg(ctx, leg, false, r.cfg.Err); err != nil {
			return err
		}
	}
	if p.LongAfter == LongFront {
		r.startLong(bgCtx)
	}
	if len(p.Background) == 0 {
		return nil
	}
	buildLog := filepath.Join(r.cfg.LogDir, "build.log")
	r.logf("the other legs' builds at nice 19, beside the first leg (log %s)", buildLog)
	f, err := os.Create(buildLog)
	if err != nil {
		return err
	}
	r.children.Go(func() {
		defer f.Close()
		for i, leg := range p.Background {
			err := r.buildLeg(bgCtx, leg, true, f)
			if i == 0 && p.LongAfter == LongBackground {
				if err == nil {
					r.startLong(bgCtx)
				}
				continue
			}
			if err != nil { // the later legs build in front before they run, and report it
				fmt.Fprintln(f, err)
				return
			}
		}
	})
	return nil
}

// buildLeg runs the build scripts of the leg side by side (nice: at nice 19), their output discarded but
// for stderr. Each script has its own lock and cache, and one's module download or link overlaps
// another's compile. The first failure stops the others.
func (r *runner) buildLeg(ctx context.Context, leg string, nice bool, stderr io.Writer) error {
	steps, err := buildSteps(leg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if stderr != nil {
		stderr = &lockedWriter{w: stderr}
	}
	var wg sync.WaitGroup
	for _, s := range steps {
		if nice {
			s = append([]string{"nice", "-n", "19"}, s...)
		}
		wg.Go(func() {
			rc, err := r.child(ctx, s, nil, nil, stderr, buildDeadline)
			switch {
			case err != nil:
				cancel(fmt.Errorf("build of leg %s: %w", leg, err))
			case rc != 0 && ctx.Err() == nil:
				cancel(fmt.Errorf("build of leg %s: %s: exit %d", leg, strings.Join(s, " "), rc))
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// child runs argv in the checkout with the run's environment plus env.
func (r *runner) child(ctx context.Context, argv, env []string, stdout, stderr io.Writer, deadline time.Duration) (int, error) {
	return child{argv: argv, env: append(append([]string(nil), r.cfg.Env...), env...), dir: r.cfg.Repo,
		stdout: stdout, stderr: stderr, deadline: deadline}.run(ctx)
}

// logf prints one of the run's own lines: "=== e2e: ..." after an empty line.
func (r *runner) logf(format string, a ...any) {
	fmt.Fprintf(r.out, "\n=== e2e: "+format+"\n", a...)
}

// lockedWriter lets the legs' output, the long test's line and the run's lines share a stream.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
