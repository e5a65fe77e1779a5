package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/bench"
	"github.com/cilium-docker/cilium-docker/internal/matrix"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// upstreamUsage is `bench upstream`'s environment (scripts/bench.sh's, which it replaces).
const upstreamUsage = `usage: bench upstream    (make bench-upstream; as root)
The side by side of this plugin, the upstream cilium-docker plugin (built beside the agent by
scripts/build-cilium.sh) and the default bridge, each measure interleaved in one run, on two
single-node test beds with the same engine and agent. Writes its section of BENCHMARKS.md (between its
markers; the rest of the file is kept). Environment:
  TESTBED_ID      this plugin's bed (default bench); BENCH_UP_ID the upstream plugin's (default <id>up)
  DOCKER_VERSION  (default internal/matrix's DockerDebian) CILIUM_VERSION (default CiliumPrevious: the
                  upstream plugin's), for both beds
  BENCH_RUNS      interleaved rounds of ` + "`docker run --rm`" + ` and of ` + "`docker run -d`" + ` (default 21)
  BENCH_BURSTS    burst sizes (default "20 50"); BENCH_DENSITY endpoints of the density and RSS rows (200)
  BENCH_DENSITY_RUNS  ` + "`run --rm`" + ` samples at 10 and at BENCH_DENSITY endpoints (default 11)
  BENCH_CHURN     create/destroy cycles of this plugin's churn (default 200; 0 skips it)
  BENCH_OUT       the file written (default BENCHMARKS.md)
`

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}

// upstreamConfig reads the environment.
func upstreamConfig() (bench.UpstreamConfig, error) {
	var c bench.UpstreamConfig
	var err error
	for _, v := range []struct {
		name string
		def  int
		into *int
	}{{"BENCH_RUNS", 21, &c.Runs}, {"BENCH_DENSITY", 200, &c.Density}, {"BENCH_DENSITY_RUNS", 11, &c.DensityRuns}, {"BENCH_CHURN", 200, &c.Churn}} {
		if *v.into, err = envInt(v.name, v.def); err != nil {
			return c, err
		}
	}
	for _, f := range strings.Fields(envOr("BENCH_BURSTS", "20 50")) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return c, fmt.Errorf("BENCH_BURSTS: %w", err)
		}
		c.Bursts = append(c.Bursts, n)
	}
	return c, c.Check()
}

// runUpstream is `bench upstream`.
func runUpstream(args []string) error {
	if len(args) > 0 {
		fmt.Fprint(os.Stderr, upstreamUsage)
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return fmt.Errorf("upstream takes no arguments (its environment sets it)")
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root (the test bed creates network namespaces)")
	}
	c, err := upstreamConfig()
	if err != nil {
		return err
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if c.Self, err = os.Executable(); err != nil {
		return err
	}
	docker, cilium := envOr("DOCKER_VERSION", matrix.DockerDebian), envOr("CILIUM_VERSION", matrix.CiliumPrevious)
	oursID := envOr("TESTBED_ID", "bench")
	bed := func(id, plugin string, bare bool) (*bench.Bed, error) {
		cfg, err := testbed.Config{ID: id, StopTimeout: 10 * time.Second, Log: os.Stderr, Repo: repo,
			Self: filepath.Join(repo, "bin", "testbed")}.WithDefaults()
		return &bench.Bed{Cfg: cfg, Repo: repo, Docker: docker, Cilium: cilium, Plugin: plugin, Log: os.Stderr, Bare: bare}, err
	}
	ours, err := bed(oursID, filepath.Join(repo, "bin", "cilium-docker"), false)
	if err != nil {
		return err
	}
	c.Upstream = filepath.Join(ours.Cfg.Cache, "cilium-v"+cilium, "bin", "cilium-docker-upstream")
	up, err := bed(envOr("BENCH_UP_ID", oursID+"up"), c.Upstream, true) // the upstream plugin has none of the bed's flags
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		for _, b := range []*bench.Bed{ours, up} {
			if err := b.DownAll(context.Background()); err != nil {
				fmt.Fprintln(os.Stderr, "bench: down:", err)
			}
		}
	}()
	r, err := bench.Upstream(ctx, ours, up, c)
	if err != nil {
		return err
	}
	out := envOr("BENCH_OUT", "BENCHMARKS.md")
	doc, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	written := bench.SpliceUpstream(string(doc), r.Section())
	if err := os.WriteFile(out, []byte(written), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: wrote", out)
	fmt.Print(written)
	return nil
}

// runSocketMS is `bench socket-ms BIN API`, which `bench upstream` runs inside a node.
func runSocketMS(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: bench socket-ms PLUGIN-BINARY CILIUM-API")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := bench.SocketMS(ctx, args[0], args[1])
	if err != nil {
		return err
	}
	fmt.Println(v)
	return nil
}
