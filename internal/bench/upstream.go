package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// UpstreamConfig is the scale of `bench upstream` (make bench-upstream), the side by side of this plugin,
// the upstream cilium-docker plugin and the default bridge: a port of scripts/bench.sh (removed; see git
// log), which the comments here call bench.sh.
type UpstreamConfig struct {
	Runs        int   // interleaved rounds of `docker run --rm` and of `docker run -d` (BENCH_RUNS)
	Bursts      []int // burst sizes (BENCH_BURSTS)
	Density     int   // endpoints of the density and RSS rows (BENCH_DENSITY)
	DensityRuns int   // `run --rm` samples at 10 and at Density (BENCH_DENSITY_RUNS)
	Churn       int   // create/destroy cycles of this plugin's churn; 0 skips it (BENCH_CHURN)
	// Self is this bench binary: the socket rows run it in a node (`bench socket-ms`).
	Self string
	// Upstream is the upstream plugin's binary (scripts/build-cilium.sh builds it for 1.19 with CILIUM_UPSTREAM_PLUGIN=1).
	Upstream string
}

// Check refuses a scale the bench cannot measure.
func (c UpstreamConfig) Check() error {
	switch {
	case c.Runs < 1 || c.DensityRuns < 1:
		return errors.New("runs and density runs must be at least 1")
	case c.Density < 10:
		return fmt.Errorf("density must be at least 10 (it is compared with 10), got %d", c.Density)
	case len(c.Bursts) == 0 || slices.ContainsFunc(c.Bursts, func(n int) bool { return n < 1 }):
		return fmt.Errorf("bursts must be one or more sizes of at least 1, got %v", c.Bursts)
	case c.Churn < 0:
		return fmt.Errorf("churn must be 0 or more, got %d", c.Churn)
	}
	return nil
}

// Upstream measures this plugin (on bed ours), the upstream plugin (on bed up, same engine and agent)
// and the default bridge of ours' dockerd, each measure interleaved in one run, and returns the
// result. It takes both beds down first; the caller takes them down after. A failure stops it (as set -e
// stopped bench.sh): nothing half-measured is returned.
func Upstream(ctx context.Context, ours, up *Bed, c UpstreamConfig) (*UpstreamResult, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if err := prepare(ctx, ours, c); err != nil {
		return nil, err
	}
	for _, b := range []*Bed{ours, up} { // what a run before left
		if err := b.DownAll(ctx); err != nil {
			return nil, err
		}
	}
	ours.logf("beds %s (this plugin) and %s (upstream), docker %s, cilium %s", ours.Cfg.ID, up.Cfg.ID, ours.Docker, ours.Cilium)
	sides, err := upSides(ctx, ours, up, c)
	if err != nil {
		return nil, err
	}
	res := newUpstreamResult(c)
	res.Engine, res.Cilium = sides[Ours].env["DOCKER_ENGINE_VERSION"], ours.Cilium
	for _, step := range []func(context.Context, map[string]*side, UpstreamConfig, *UpstreamResult) error{
		warmIdle, sockets, rmSeries, readySeries, bursts, density, churnStep,
	} {
		if err := step(ctx, sides, c, res); err != nil {
			return nil, err
		}
	}
	res.Machine = readMachine()
	return res, nil
}

// prepare builds the agent and the upstream plugin beside it (CILIUM_UPSTREAM_PLUGIN=1: only this bench
// needs it) and a non-Debian engine when not cached; `make bench-upstream` has built this repository's
// binaries.
func prepare(ctx context.Context, b *Bed, c UpstreamConfig) error {
	build := func(script, version string) error {
		cmd := exec.CommandContext(ctx, filepath.Join(b.Repo, "scripts", script), version)
		cmd.Env = append(os.Environ(), "CILIUM_UPSTREAM_PLUGIN=1")
		cmd.Stderr = b.Log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w", script, version, err)
		}
		return nil
	}
	if err := build("build-cilium.sh", b.Cilium); err != nil {
		return err
	}
	if b.Docker != "20.10" && !strings.HasPrefix(b.Docker, "20.10.") {
		if err := build("build-docker.sh", b.Docker); err != nil {
			return err
		}
	}
	if _, err := os.Stat(c.Upstream); err != nil {
		return fmt.Errorf("no upstream plugin at %s (scripts/build-cilium.sh builds it for 1.19 with CILIUM_UPSTREAM_PLUGIN=1): %w", c.Upstream, err)
	}
	return nil
}

// upSides brings both beds' node 1 up, makes the cilium network on each and returns the three sides.
func upSides(ctx context.Context, ours, up *Bed, c UpstreamConfig) (map[string]*side, error) {
	uctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	oursEnv, err := ours.UpEnv(uctx, 1)
	if err != nil {
		return nil, err
	}
	upEnv, err := up.UpEnv(uctx, 1)
	if err != nil {
		return nil, err
	}
	sides := map[string]*side{
		Ours:   {name: Ours, bed: ours, net: UpstreamNet, env: oursEnv, plugin: ours.Plugin},
		Up:     {name: Up, bed: up, net: UpstreamNet, env: upEnv, plugin: c.Upstream},
		Bridge: {name: Bridge, bed: ours, net: "bridge", env: oursEnv},
	}
	for _, s := range []*side{sides[Ours], sides[Up]} {
		if _, err := s.docker(ctx, "network", "create", "--driver", "cilium", "--ipam-driver", "cilium", UpstreamNet); err != nil {
			return nil, err
		}
	}
	return sides, nil
}
