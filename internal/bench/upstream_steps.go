package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"time"
)

// The steps of Upstream, in its order: each measures every side and fills its part of the result.

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
