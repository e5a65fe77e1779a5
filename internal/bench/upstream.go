package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
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
	// Upstream is the upstream plugin's binary (scripts/build-cilium.sh builds it for 1.19).
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

// prepare builds the agent (and the upstream plugin beside it) and a non-Debian engine when not cached,
// as the bash bench did; `make bench-upstream` has built this repository's binaries.
func prepare(ctx context.Context, b *Bed, c UpstreamConfig) error {
	build := func(script, version string) error {
		cmd := exec.CommandContext(ctx, filepath.Join(b.Repo, "scripts", script), version)
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
		return fmt.Errorf("no upstream plugin at %s (scripts/build-cilium.sh builds it for 1.19): %w", c.Upstream, err)
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

// warmIdle runs two `run --rm` on each side (the agent compiles the endpoint program once, on the first
// endpoint: that is no run's), lets the beds settle 5 s, and reads the plugins' idle RSS.
func warmIdle(ctx context.Context, sides map[string]*side, _ UpstreamConfig, res *UpstreamResult) error {
	for _, name := range upstreamSides {
		for range 2 {
			if _, err := sides[name].runRm(ctx); err != nil {
				return err
			}
		}
	}
	if err := pause(ctx, 5*time.Second); err != nil {
		return err
	}
	for _, name := range []string{Ours, Up} {
		r, err := sides[name].pluginRSS(ctx)
		if err != nil {
			return err
		}
		res.RSSIdle[name] = r
	}
	var err error
	res.SyncIdle, err = sides[Ours].syncRSS(ctx)
	return err
}

// sockets times a second plugin process of each side until it listens, with its agent and without one.
func sockets(ctx context.Context, sides map[string]*side, c UpstreamConfig, res *UpstreamResult) error {
	sides[Ours].bed.logf("socket listening after exec")
	for _, name := range []string{Ours, Up} {
		s := sides[name]
		for _, api := range []struct {
			url  string
			into map[string]string
		}{{"unix:///var/run/cilium/cilium.sock", res.Sock}, {"unix:///var/run/cilium/none.sock", res.SockDown}} {
			out, err := s.exec(ctx, c.Self, "socket-ms", s.plugin, api.url)
			if err != nil {
				return err
			}
			api.into[name] = strings.TrimSpace(out)
		}
	}
	return nil
}

// rmSeries is Runs interleaved rounds of `docker run --rm` on every side; this plugin's attach sums are
// read around each of its runs (its own time), and both plugins' dockerd logs give the phases.
func rmSeries(ctx context.Context, sides map[string]*side, c UpstreamConfig, res *UpstreamResult) error {
	sides[Ours].bed.logf("docker run --rm: %d interleaved rounds", c.Runs)
	from := map[string]int64{}
	for _, name := range []string{Ours, Up} {
		fi, err := os.Stat(sides[name].dockerdLog())
		if err != nil {
			return fmt.Errorf("%s: dockerd log: %w", name, err)
		}
		from[name] = fi.Size()
	}
	for r := 1; r <= c.Runs; r++ {
		for _, name := range rotation(r) {
			s := sides[name]
			var before attachSums
			if name == Ours {
				var err error
				if before, err = s.attachSums(ctx); err != nil {
					return err
				}
			}
			w, err := s.runRm(ctx)
			if err != nil {
				return err
			}
			res.Rm[name] = append(res.Rm[name], w)
			if name == Ours {
				after, err := s.attachSums(ctx)
				if err != nil {
					return err
				}
				res.Own = append(res.Own, ownTime(before, after))
			}
		}
	}
	for _, name := range []string{Ours, Up} {
		ph, err := phasesSince(sides[name].dockerdLog(), from[name])
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		res.Phases[name] = ph
	}
	return nil
}

// phasesSince parses the phases of the log written after offset.
func phasesSince(path string, offset int64) (map[string][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return nil, err
	}
	return ParsePhases(f)
}

// readySeries is Runs interleaved rounds of a labelled `docker run -d` on every side, timed until it
// returned and until its endpoint was ready (the agent's event, with `cilium monitor -t agent` on both
// plugins' beds), then of a first-packet run against a target container of the side.
func readySeries(ctx context.Context, sides map[string]*side, c UpstreamConfig, res *UpstreamResult) error {
	sides[Ours].bed.logf("docker run -d and labelled readiness: %d interleaved rounds", c.Runs)
	target := map[string]string{}
	for _, name := range upstreamSides {
		s := sides[name]
		if _, err := s.docker(ctx, "run", "-d", "--pull", "never", "--init", "--name", "target"+name, "--net", s.net, Image, "sleep", "100000"); err != nil {
			return err
		}
	}
	for _, name := range upstreamSides {
		s := sides[name]
		ip, err := s.docker(ctx, "inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, s.net), "target"+name)
		if err != nil {
			return err
		}
		target[name] = ip
	}
	mons := map[string]*Monitor{}
	defer func() {
		for _, m := range mons {
			m.Stop()
		}
	}()
	for _, name := range []string{Ours, Up} {
		m, err := sides[name].bed.StartMonitor(ctx, 1)
		if err != nil {
			return err
		}
		mons[name] = m
	}
	for r := 1; r <= c.Runs; r++ {
		for _, name := range rotation(r) {
			run, err := sides[name].runReady(ctx, mons[name], fmt.Sprintf("%s%d", name, r))
			if err != nil {
				return err
			}
			res.Ret[name] = append(res.Ret[name], run.ret)
			if !math.IsNaN(run.polled) {
				res.Polled[name] = append(res.Polled[name], run.polled)
			}
			if math.IsNaN(run.ready) {
				if name != Bridge {
					sides[name].bed.logf("%s%d: never listed ready under its label", name, r)
				}
				continue
			}
			res.Ready[name] = append(res.Ready[name], run.ready)
			res.AtRet[name] = append(res.AtRet[name], run.ready <= run.ret) // ready before return: ready at return
		}
		for _, name := range rotation(r) {
			if lost, ok := sides[name].firstPacket(ctx, fmt.Sprintf("p%s%d", name, r), target[name]); ok {
				res.First[name] = append(res.First[name], lost)
			}
		}
	}
	for _, name := range upstreamSides {
		_, _ = sides[name].docker(ctx, append([]string{"rm", "-f", "target" + name}, seqNames(name, 1, 1, c.Runs)...)...)
	}
	return nil
}

// bursts starts each burst size on every side in turn.
func bursts(ctx context.Context, sides map[string]*side, c UpstreamConfig, res *UpstreamResult) error {
	for _, n := range c.Bursts {
		sides[Ours].bed.logf("burst of %d", n)
		for _, name := range upstreamSides {
			res.Burst[burstKey(name, n)] = sides[name].burst(ctx, n)
		}
	}
	return ctx.Err()
}

// density puts 10, then Density, sleeping containers on each plugin's network and samples `run --rm`
// there (this plugin's attach time with it, and the bridge's on the same dockerd); RSS at Density.
func density(ctx context.Context, sides map[string]*side, c UpstreamConfig, res *UpstreamResult) error {
	sides[Ours].bed.logf("density: %d endpoints", c.Density)
	for _, name := range []string{Ours, Up} {
		s := sides[name]
		for _, at := range []struct {
			from, to int
			runs     map[string][]float64
			attach   *[]float64
		}{{1, 10, res.D10, &res.Attach10}, {11, c.Density, res.DN, &res.AttachN}} {
			s.fill(ctx, at.from, at.to)
			for range c.DensityRuns {
				var before attachSums
				var err error
				if name == Ours {
					if before, err = s.attachSums(ctx); err != nil {
						return err
					}
				}
				w, err := s.runRm(ctx)
				if err != nil {
					return err
				}
				at.runs[name] = append(at.runs[name], w)
				if name != Ours {
					continue
				}
				after, err := s.attachSums(ctx)
				if err != nil {
					return err
				}
				*at.attach = append(*at.attach, attach(before, after))
				if w, err = sides[Bridge].runRm(ctx); err != nil { // the same dockerd, the containers on it
					return err
				}
				at.runs[Bridge] = append(at.runs[Bridge], w)
			}
		}
		r, err := s.pluginRSS(ctx)
		if err != nil {
			return err
		}
		res.RSSN[name] = r
		if name == Ours {
			if res.SyncN, err = s.syncRSS(ctx); err != nil {
				return err
			}
		}
		s.unfill(ctx, c.Density)
	}
	return nil
}

// churnStep is this plugin's churn, unless Churn is 0.
func churnStep(ctx context.Context, sides map[string]*side, c UpstreamConfig, res *UpstreamResult) error {
	if c.Churn == 0 {
		return nil
	}
	sides[Ours].bed.logf("churn: %d create/destroy cycles in %d lanes (this plugin)", c.Churn, upstreamLanes)
	r, err := sides[Ours].churn(ctx, c.Churn)
	if err != nil {
		return err
	}
	res.Churn = &r
	return nil
}
