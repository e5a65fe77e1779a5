package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/e2erun"
)

const e2eUsage = `usage: testbed e2e [--build] [LEG...]

The end-to-end tier (scripts/e2e.sh, make test-e2e): the e2e suite once per leg (default: $E2E_LEGS,
else every leg of the matrix, in its order), each on a fresh bed, the long test on a bed of its own
(TESTBED_ID=aw) alongside, then a summary per leg. Run from the checkout, as root.
  --build   only build what the legs need into the cache, then exit
Environment: E2E_RUN (go test -run for every leg; no long test, no exact-set check), E2E_LONG=0 (no
long test), E2E_TIMEOUT (go test -timeout of a leg, default 45m), E2E_LOG_DIR (default
/tmp/cilium-docker-e2e), E2E_FAIL_FAST=1, E2E_PARALLEL=1, PLUGIN_BIN (default: make build),
TESTBED_ID.
Exit codes: 0 every leg passed, 1 a leg failed, 2 usage.
`

// e2e is the verb `testbed e2e`: its flags and environment into an e2erun.Config, at the edge.
func e2e(ctx context.Context, a []string, s cli.IO) error {
	fs := flag.NewFlagSet("testbed e2e", flag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.Usage = func() { fmt.Fprint(s.Err, e2eUsage) }
	buildOnly := fs.Bool("build", false, "only build what the legs need, then exit")
	if err := fs.Parse(a); err != nil {
		return cli.Usage(err)
	}
	cfg, err := e2eConfig(fs.Args(), *buildOnly, os.Getenv, s)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("e2e: run as root (the test bed creates network namespaces)")
	}
	if cfg.Repo, err = os.Getwd(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(cfg.Repo, "scripts", "testbed.sh")); err != nil {
		return fmt.Errorf("e2e: run from the checkout (no scripts/testbed.sh here): %w", err)
	}
	cfg.Env = childEnv(os.Environ())
	err = e2erun.Run(ctx, cfg)
	if errors.Is(err, e2erun.ErrFailed) {
		return &cli.ExitError{Code: 1} // the summary said which
	}
	return err
}

// e2eConfig reads the run's legs and environment; a bad leg is a usage error.
func e2eConfig(legs []string, buildOnly bool, getenv func(string) string, s cli.IO) (e2erun.Config, error) {
	if len(legs) == 0 {
		legs = strings.Fields(getenv("E2E_LEGS"))
	}
	cfg := e2erun.Config{
		Legs: legs, BuildOnly: buildOnly, Run: getenv("E2E_RUN"),
		Long: getenv("E2E_LONG") != "0", FailFast: getenv("E2E_FAIL_FAST") == "1", Parallel: getenv("E2E_PARALLEL") == "1",
		Timeout: getenv("E2E_TIMEOUT"), LogDir: getenv("E2E_LOG_DIR"), PluginBin: getenv("PLUGIN_BIN"), BedID: getenv("TESTBED_ID"),
		Out: s.Out, Err: s.Err,
	}
	if err := e2erun.CheckLegs(cfg.Legs, cfg.Run); err != nil {
		return cfg, cli.Usage(fmt.Errorf("e2e: %w", err))
	}
	return cfg, nil
}

// childEnv is the children's environment: this one, with HOME set when it is not (the build scripts'
// cache is under it).
func childEnv(env []string) []string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok && v != "" {
			return env
		}
	}
	if u, err := user.Current(); err == nil {
		return append(env, "HOME="+u.HomeDir)
	}
	return env
}
