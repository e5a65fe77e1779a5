package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Run brings the bed up, measures every row and returns the report; the bed is left up (the caller
// tears it down).
func Run(ctx context.Context, b *Bed, c Config) (*Report, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	r := &Report{}
	start := time.Now()
	defer func() { // also on an early stop: the rows measured so far, with the run's header
		r.Header, r.Notes = header(b, c, time.Since(start)), notes()
	}()
	if err := b.Up(ctx, 1); err != nil {
		return r, err
	}
	if _, err := b.docker(ctx, 1, "network", "create", "--driver", "cilium", "--ipam-driver", "cilium", Net); err != nil {
		return nil, err
	}
	for _, g := range []struct {
		name string
		rows func(context.Context, Config, *Report) error
	}{{"single", b.rowsSingle}, {"density", b.rowsDensity}, {"burst", b.rowBurst}, {"cluster", b.rowsCluster}} {
		if !c.wants(g.name) {
			continue
		}
		if err := g.rows(ctx, c, r); err != nil {
			return r, err
		}
	}
	if c.wants("cluster") {
		r.add(wireguardRow())
	}
	return r, nil
}

func (b *Bed) rowsSingle(ctx context.Context, c Config, r *Report) error {
	b.logf("row 1: %d `docker run --rm` of ours and of the bridge, interleaved", c.Runs)
	if _, _, err := b.series(ctx, 1, 1); err != nil { // warm: the first run of each pulls nothing but pages in a lot
		return err
	}
	ours, bridge, err := b.series(ctx, 1, c.Runs)
	if err != nil {
		return err
	}
	wall := field(ours, func(s sample) float64 { return s.wall })
	o50, o90, b50, b90 := Percentile(wall, 50), Percentile(wall, 90), Percentile(bridge, 50), Percentile(bridge, 90)
	build50 := Percentile(perBuild(ours), 50)
	attach50 := Percentile(field(ours, func(s sample) float64 { return s.attach }), 50)
	over := o50 - b50
	r.add(Row{
		Measure: fmt.Sprintf("`docker run --rm … true` p50 / p90, ours vs the bridge (%d runs each)", c.Runs),
		Value: fmt.Sprintf("ours %s / %s, bridge %s / %s: overhead p50 %s; the agent's endpoint build p50 %s",
			ms(o50), ms(o90), ms(b50), ms(b90), ms(over), ms(build50)),
		Goal: "overhead ≤ build + 30 ms",
		Verdict: verdict(over <= build50+0.030, fmt.Sprintf("the plugin's attach handlers take p50 %s in all (%s); the agent's build, p50 %s, runs beside them from Join on",
			ms(attach50), handlers(ours), ms(build50))),
	})
	b.logf("row 2: %d labelled `docker run -d`, ready when it returns?", c.Runs)
	ready, err := b.readyAtReturn(ctx, 1, c.Runs)
	if err != nil {
		return err
	}
	r.add(Row{
		Measure: "ready under its labels when `docker run -d` returns",
		Value:   fmt.Sprintf("%d/%d (%.0f %%)", ready, c.Runs, 100*float64(ready)/float64(c.Runs)),
		Goal:    "100 %",
		Verdict: verdict(ready == c.Runs, fmt.Sprintf("%d endpoints were not yet listed ready under their label by the agent", c.Runs-ready)),
	})
	return nil
}

func dockerOf(s sample) map[string]float64 { return s.dockerCalls }
func agentOf(s sample) map[string]float64  { return s.agentCalls }

func (b *Bed) rowsDensity(ctx context.Context, c Config, r *Report) error {
	b.logf("row 3: attach at 10 and at %d sleeping containers", c.Density)
	if err := b.sleepers(ctx, 1, "bench-sleep", 0, 10, c.Lanes); err != nil {
		return err
	}
	at10, _, err := b.series(ctx, 1, c.DensityRuns)
	if err != nil {
		return err
	}
	fill := time.Now()
	if err := b.sleepers(ctx, 1, "bench-sleep", 10, c.Density, c.Lanes); err != nil {
		return err
	}
	b.logf("%d sleepers started in %s", c.Density, time.Since(fill).Round(time.Second))
	atN, _, err := b.series(ctx, 1, c.DensityRuns)
	if err != nil {
		return err
	}
	attach := func(s sample) float64 { return s.attach }
	a10, aN := Percentile(field(at10, attach), 50), Percentile(field(atN, attach), 50)
	bd10, bdN := Percentile(perBuild(at10), 50), Percentile(perBuild(atN), 50)
	ratio := aN / a10
	r.add(Row{
		Measure: fmt.Sprintf("attach p50 at %d sleeping containers vs at 10 (%d runs each)", c.Density, c.DensityRuns),
		Value:   fmt.Sprintf("%s vs %s: %.2f×", ms(aN), ms(a10), ratio),
		Goal:    "≤ 1.2×",
		Verdict: verdict(ratio <= 1.2, fmt.Sprintf("by handler, p50 at 10: %s; at %d: %s (the agent's endpoint build beside them went from %s to %s). "+
			"The plugin's Docker calls per run, p50 at 10: %s; at %d: %s. Its agent calls, at 10: %s; at %d: %s",
			handlers(at10), c.Density, handlers(atN), ms(bd10), ms(bdN),
			calls(at10, dockerOf), c.Density, calls(atN, dockerOf), calls(at10, agentOf), c.Density, calls(atN, agentOf))),
	})
	pid, err := b.pid(1, "plugin")
	if err != nil {
		return err
	}
	rss, err := rssMiB(pid)
	if err != nil {
		return err
	}
	pm, err := b.scrape(ctx, 1, pluginMetricsAddr)
	if err != nil {
		return err
	}
	r.add(Row{
		Measure: fmt.Sprintf("plugin RSS at %d endpoints", c.Density),
		Value:   fmt.Sprintf("%.1f MiB", rss),
		Goal:    "≤ 40 MiB",
		Verdict: verdict(rss <= 40, fmt.Sprintf("its Go heap in use %.1f MiB, %0.f goroutines (its /metrics)",
			promSum(pm, "go_memstats_heap_inuse_bytes")/(1<<20), promSum(pm, "go_goroutines"))),
	})
	return b.removeLabelled(ctx, 1, "bench.sleeper=1")
}

func (b *Bed) rowBurst(ctx context.Context, c Config, r *Report) error {
	b.logf("row 4: %d concurrent `docker run -d`, ours then the bridge", c.Burst)
	ow, oursStarted, err := b.burst(ctx, 1, c.Burst, Net, "bench.burst=ours")
	if err != nil {
		return err
	}
	bw, bs, err := b.burst(ctx, 1, c.Burst, "bridge", "bench.burst=bridge")
	if err != nil {
		return err
	}
	r.add(Row{
		Measure: fmt.Sprintf("%d concurrent `docker run -d` (the stack's agent config)", c.Burst),
		Value:   fmt.Sprintf("ours %d/%d started in %.1f s; bridge %d/%d in %.1f s: %.2f× the bridge's wall", oursStarted, c.Burst, ow, bs, c.Burst, bw, ow/bw),
		Goal:    "100 % started; wall against the bridge",
		Verdict: verdict(oursStarted == c.Burst, fmt.Sprintf("%d did not start (the bench's log has the first error)", c.Burst-oursStarted)),
	})
	return nil
}

func (b *Bed) rowsCluster(ctx context.Context, c Config, r *Report) error {
	b.logf("rows 5-7: %d nodes", c.Nodes)
	for n := 2; n <= c.Nodes; n++ {
		if err := b.Up(ctx, n); err != nil {
			return err
		}
		if _, err := b.docker(ctx, n, "network", "create", "--driver", "cilium", "--ipam-driver", "cilium", Net); err != nil {
			return err
		}
	}
	if err := parallel(1, c.Nodes+1, 2, func(n int) error {
		if _, err := b.docker(ctx, n, "run", "-d", "--pull", "never", "--name", fmt.Sprintf("bsrv-%d", n), "-l", "name=bsrv", "--net", Net, Image, "sh", "-c", server); err != nil {
			return err
		}
		_, err := b.docker(ctx, n, "run", "-d", "--pull", "never", "--name", fmt.Sprintf("bcli-%d", n), "-l", "name=bcli", "--net", Net, Image, "sleep", "100000")
		return err
	}); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cdbench-policy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if _, _, err := b.policyRound(ctx, dir, "bench-base", c.Nodes); err != nil {
		return err
	}
	var every, imported, enforced []float64
	for k := range c.PolicyRuns {
		imp, enf, err := b.policyRound(ctx, dir, fmt.Sprintf("bench-pol-%d", k), c.Nodes)
		if err != nil {
			return err
		}
		imported, enforced = append(imported, imp...), append(enforced, enf...)
		every = append(every, slices.Max(enf)) // one per node: never empty
	}
	p50 := Percentile(every, 50)
	r.add(Row{
		Measure: fmt.Sprintf("%d nodes: a rule applied (`policy apply` returned) → enforced on every node, p50 (%d rules)", c.Nodes, c.PolicyRuns),
		Value: fmt.Sprintf("%s (p90 %s); per node: in its agent p50 %s, its endpoints at that revision p50 %s",
			ms(p50), ms(Percentile(every, 90)), ms(Percentile(imported, 50)), ms(Percentile(enforced, 50))),
		Goal:    "≤ 3 s",
		Verdict: verdict(p50 <= 3, fmt.Sprintf("in the agents p50 %s of it (etcd → sync child → the agent's policy directory), the endpoints' rebuild the rest", ms(Percentile(imported, 50)))),
	})
	var returned, reached []float64
	for k := range c.ReachRuns {
		i := k%c.Nodes + 1
		j := i%c.Nodes + 1
		ret, rch, err := b.reach(ctx, i, j, fmt.Sprintf("bench-reach-%d", k))
		if err != nil {
			return err
		}
		returned, reached = append(returned, ret), append(reached, rch)
	}
	r.add(Row{
		Measure: fmt.Sprintf("%d nodes: a new container on node i reachable under a policy from node i+1, p50 (%d containers)", c.Nodes, c.ReachRuns),
		Value: fmt.Sprintf("%s from the start of its `docker run -d` (p90 %s; the run returned at p50 %s)",
			ms(Percentile(reached, 50)), ms(Percentile(reached, 90)), ms(Percentile(returned, 50))),
		Goal:    "(none)",
		Verdict: "measured",
	})
	var worst memory
	var parts []string
	worstNode := 1
	for n := 1; n <= c.Nodes; n++ {
		m, err := b.memory(n)
		if err != nil {
			return err
		}
		parts = append(parts, fmt.Sprintf("n%d %.0f", n, m.total()))
		if m.total() > worst.total() {
			worst, worstNode = m, n
		}
	}
	am, err := b.scrape(ctx, worstNode, agentMetricsAddr)
	if err != nil {
		return err
	}
	mib := func(name string) float64 { return promSum(am, name) / (1 << 20) }
	r.add(Row{
		Measure: fmt.Sprintf("per-node memory (agent + etcd + plugin + policy child), RSS, with %d nodes", c.Nodes),
		Value: fmt.Sprintf("max %.0f MiB: agent %.0f, etcd %.0f, plugin %.0f, policy child %.0f (MiB; nodes: %s)",
			worst.total(), worst.agent, worst.etcd, worst.plugin, worst.child, strings.Join(parts, ", ")),
		Goal: "≤ 176 MiB",
		Verdict: verdict(worst.total() <= 176, fmt.Sprintf("the agent alone is %.0f MiB of it; its Go runtime (its metrics, node %d): heap in use %.0f MiB, stacks %.0f MiB, heap idle %.0f MiB of which %.0f returned to the OS, %.0f MiB from the OS in all, %.0f goroutines",
			worst.agent, worstNode, mib("go_memstats_heap_inuse_bytes"), mib("go_memstats_stack_inuse_bytes"), mib("go_memstats_heap_idle_bytes"),
			mib("go_memstats_heap_released_bytes"), mib("go_memstats_sys_bytes"), promSum(am, "go_goroutines"))),
	})
	return nil
}

// wireguardRow says why the bed cannot measure WireGuard: its kernel has no wireguard module.
func wireguardRow() Row {
	why := "the bed's kernel has wireguard loaded; the bench does not measure it yet"
	if _, err := os.Stat("/sys/module/wireguard"); err != nil {
		why = "impossible on this bed: its kernel has no wireguard module (/sys/module/wireguard absent, no /lib/modules to load one from)"
	}
	return Row{Measure: "WireGuard on vs off: throughput between two containers on two nodes", Value: "not measured",
		Goal: "(none)", Verdict: why}
}

func header(b *Bed, c Config, took time.Duration) []string {
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	rows := "every row"
	if len(c.Rows) > 0 {
		rows = "only the rows of " + strings.Join(c.Rows, ", ") + " (`-rows`)"
	}
	return []string{
		fmt.Sprintf("Written by `make bench` (cmd/bench, internal/bench) on %s in %s. Docker engine %s, cilium-agent %s (internal/matrix's current pair) on every node; %d cores, kernel %s, host %s, load average %s at the end.",
			time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second), b.Docker, b.Cilium, runtime.NumCPU(),
			strings.TrimSpace(string(kernel)), host, strings.Join(strings.Fields(string(load))[:3], " ")),
		fmt.Sprintf("Scale: %d runs, %d sleeping containers (%d runs at 10 and at %d), a burst of %d, %d nodes, %d rules, %d new containers reached; %s. Percentiles are nearest-rank (internal/bench.Percentile).",
			c.Runs, c.Density, c.DensityRuns, c.Density, c.Burst, c.Nodes, c.PolicyRuns, c.ReachRuns, rows),
	}
}

func notes() []string {
	return []string{
		"Every `docker run` is the Docker CLI on the host against the node's engine socket, timed around the CLI; the bridge is the default bridge of the same engine, its runs interleaved with ours.",
		"The agent's endpoint build is its own histogram `" + agentBuild + "` (scope total), read from its Prometheus endpoint (`--prometheus-serve-addr`) before and after each run: the sum's growth over the count's. Attach is the plugin's `" + pluginCall + "` sums of RequestAddress, CreateEndpoint, Join and ProgramExternalConnectivity (which on Docker 29 waits for the build Join handed over), read the same way.",
		"Ready: the agent's endpoint list, read once right after `docker run -d` returned, shows an endpoint in state ready with the container's label.",
		"Density: sleeping containers on the bench's cilium network of node 1; the attach rows are measured `run --rm` among them.",
		"Policy: each rule selects name=bsrv (one server on every node) and admits name=bcli; it is in a node's agent when the agent's policy repository lists the rule of the policy sync's file for it (`cilium-docker.ccnp.<name>.yaml`), enforced when every name=bsrv endpoint there has realized that revision (`GET /v1/policy`, `GET /v1/endpoint`, polled every 20 ms). The clock starts when `cilium-docker policy apply` returned.",
		"Reach: a new name=bsrv server on node i, node i+1's name=bcli client retrying `nc` in a loop from the moment its address is known; the time is from the start of the `docker run -d` to the client's first pong.",
		"Memory: VmRSS of the agent with its children, the plugin, its policy sync child, and the bed's one etcd (node 1's, which every node uses; the compose stack runs one per node).",
	}
}
