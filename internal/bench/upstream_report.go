package bench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// UpstreamResult is what `bench upstream` measured, by side (Ours, Up, Bridge), in seconds unless said.
type UpstreamResult struct {
	Date    time.Time
	Machine machine
	Engine  string // ours' dockerd version (its state: DOCKER_ENGINE_VERSION)
	Cilium  string // the agent of both beds
	Cfg     UpstreamConfig

	Rm     map[string][]float64 // `docker run --rm … true`
	Ret    map[string][]float64 // `docker run -d`, until it returned
	Ready  map[string][]float64 // run start → the agent's event that the endpoint is built under its label
	Polled map[string][]float64 // … → first listed ready in the agent's endpoint list
	AtRet  map[string][]bool    // of the ready ones, ready when `docker run -d` returned
	First  map[string][]float64 // first pings lost by a new container
	Burst  map[string]burstResult
	D10    map[string][]float64 // `run --rm` with 10 sleeping containers on the engine
	DN     map[string][]float64 // … with Density

	RSSIdle, RSSN   map[string]float64 // the plugin process, MiB
	SyncIdle, SyncN string             // this plugin's policy sync child, MiB ("none")
	Sock, SockDown  map[string]string  // ms until a second plugin process listens, agent up / none
	Attach10        []float64          // this plugin's attach handlers per run, at 10 containers
	AttachN         []float64          // … at Density
	Own             []float64          // this plugin's own time per attach (the --rm series)
	Phases          map[string]map[string][]float64
	Churn           *churnResult
}

func newUpstreamResult(c UpstreamConfig) *UpstreamResult {
	m := func() map[string][]float64 { return map[string][]float64{} }
	return &UpstreamResult{Date: time.Now(), Cfg: c, Rm: m(), Ret: m(), Ready: m(), Polled: m(), AtRet: map[string][]bool{},
		First: m(), Burst: map[string]burstResult{}, D10: m(), DN: m(), RSSIdle: map[string]float64{}, RSSN: map[string]float64{},
		Sock: map[string]string{}, SockDown: map[string]string{}, Phases: map[string]map[string][]float64{}}
}

func burstKey(side string, n int) string { return fmt.Sprintf("%s_%d", side, n) }

// The markers around the side by side in BENCHMARKS.md; the rest of the file is kept as it is.
const (
	upstreamBegin = "<!-- begin: make bench-upstream, cmd/bench upstream -->"
	upstreamEnd   = "<!-- end: make bench-upstream, cmd/bench upstream -->"
	docTitle      = "# Benchmarks"
)

// SpliceUpstream returns doc with its side by side replaced by section. A doc without the markers gets
// it below its title (the rest kept after it); an empty one is the title and the section.
func SpliceUpstream(doc, section string) string {
	block := upstreamBegin + "\n" + strings.TrimRight(section, "\n") + "\n" + upstreamEnd + "\n"
	i, j := strings.Index(doc, upstreamBegin), strings.Index(doc, upstreamEnd)
	if i >= 0 && j > i {
		return doc[:i] + block + strings.TrimPrefix(doc[j+len(upstreamEnd):], "\n")
	}
	rest := strings.TrimLeft(strings.TrimPrefix(doc, docTitle+"\n"), "\n")
	if rest != "" {
		block += "\n"
	}
	return docTitle + "\n\n" + block + rest
}

// Section is the side by side as the body between its markers.
func (r *UpstreamResult) Section() string {
	var b strings.Builder
	r.Markdown(&b)
	return b.String()
}

// The formats of bench.sh: seconds with two decimals, ms with one, ratios with two; "n/a" for no value.
func s2(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x)
}

func ms1(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", x*1000)
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// met is a goal's verdict on a printed number (as the bash bench's awk compared them): met when v·factor ≤
// limit; "n/a" is not met.
func met(v string, factor, limit float64) string {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x*factor > limit {
		return "**not met**"
	}
	return "met"
}

func p50(xs []float64) float64 { return Percentile(xs, 50) }

// atRet is "ready at return/ready", n/a with none.
func atRet(xs []bool) string {
	if len(xs) == 0 {
		return "n/a"
	}
	n := 0
	for _, x := range xs {
		if x {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, len(xs))
}

// first is "median (max)" of the first pings lost.
func first(xs []float64) string {
	if len(xs) == 0 {
		return "n/a"
	}
	g := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	return g(Percentile(xs, 50)) + " (" + g(Percentile(xs, 100)) + ")"
}

func mib(x float64, ok bool) string {
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", x)
}

// started is "started/n" of a side's burst of n.
func (r *UpstreamResult) started(side string, n int) string {
	return fmt.Sprintf("%d/%d", n-r.Burst[burstKey(side, n)].fails, n)
}

func (r *UpstreamResult) rss(m map[string]float64, side string) string {
	v, ok := m[side]
	return mib(v, ok)
}

// Markdown writes the side by side: the header, the table, the phases, the goals and the churn.
func (r *UpstreamResult) Markdown(w io.Writer) {
	c := r.Cfg
	line := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	rm50 := func(s string) float64 { return p50(r.Rm[s]) }
	rm90 := func(s string) float64 { return Percentile(r.Rm[s], 90) }
	d50 := func(s string) float64 { return p50(r.Ret[s]) }
	ready50 := func(s string) float64 { return p50(r.Ready[s]) }
	polled50 := func(s string) float64 { return p50(r.Polled[s]) }
	a10, aN := p50(r.Attach10), p50(r.AttachN)
	own50, own99 := ms1(p50(r.Own)), ms1(Percentile(r.Own, 99))
	rmRatio, readyRatio, densRatio := ratio(rm50(Ours), rm50(Up)), ratio(ready50(Ours), ready50(Up)), ratio(aN, a10)

	line("Written by `make bench-upstream` (`bin/bench upstream`, internal/bench) on %s. Machine: %d cores,", r.Date.UTC().Format("2006-01-02"), r.Machine.cores)
	line("%s, %.0f GiB,", r.Machine.model, r.Machine.memGiB)
	line("kernel %s, load average %s at the end. Docker engine %s, cilium-agent", r.Machine.kernel, r.Machine.load, r.Engine)
	line("%s on both beds (the upstream plugin needs 1.19's endpoint IDs). Three sides, each measure", r.Cilium)
	line("interleaved in one run: **ours** (this plugin), **upstream** (cilium-docker v%s, built from the", r.Cilium)
	line("same Cilium module) and the **default bridge** of our bed's dockerd. Both plugins log every request (`-D`).")
	line("Shared machines are noisy: read the ratios, measured in the same run, rather than the seconds.")
	line("The beds run Docker 20.10 because the upstream plugin does not work on Docker 29: every start fails")
	line("there with \"updating gateway endpoint: failed to set IPv4 default route … no default route\" (29.8.1,")
	line("agent 1.19.7).")
	line("")
	line("## Side by side")
	line("")
	line("| measure | ours | upstream | bridge | ours / upstream |")
	line("|---|---|---|---|---|")
	line("| `docker run --rm … true` p50 (%d runs) | %s s | %s s | %s s | %s |", c.Runs, s2(rm50(Ours)), s2(rm50(Up)), s2(rm50(Bridge)), rmRatio)
	line("| `docker run --rm … true` p90 | %s s | %s s | %s s | %s |", s2(rm90(Ours)), s2(rm90(Up)), s2(rm90(Bridge)), ratio(rm90(Ours), rm90(Up)))
	line("| `docker run -d` p50, until it returns | %s s | %s s | %s s | %s |", s2(d50(Ours)), s2(d50(Up)), s2(d50(Bridge)), ratio(d50(Ours), d50(Up)))
	line("| run start → endpoint `ready` under its labels, p50 | %s s | %s s | — | %s |", s2(ready50(Ours)), s2(ready50(Up)), readyRatio)
	line("| … of those, ready when `docker run` returned | %s | %s | — | |", atRet(r.AtRet[Ours]), atRet(r.AtRet[Up]))
	line("| … the same, as first seen ready in the agent's endpoint list (polled), p50 | %s s | %s s | — | %s |",
		s2(polled50(Ours)), s2(polled50(Up)), ratio(polled50(Ours), polled50(Up)))
	line("| first pings lost by a new container (10 ms apart), median (max) | %s | %s | %s | |", first(r.First[Ours]), first(r.First[Up]), first(r.First[Bridge]))
	for _, n := range c.Bursts {
		b := func(s string) burstResult { return r.Burst[burstKey(s, n)] }
		line("| burst of %d concurrent `run -d`: wall (started) | %.3f s (%s) | %.3f s (%s) | %.3f s (%s) | %s |", n,
			b(Ours).wall, r.started(Ours, n), b(Up).wall, r.started(Up, n), b(Bridge).wall, r.started(Bridge, n), ratio(b(Ours).wall, b(Up).wall))
	}
	rssRatio := func(m map[string]float64) string {
		o, ok1 := m[Ours]
		u, ok2 := m[Up]
		if !ok1 || !ok2 {
			return "n/a"
		}
		return ratio(o, u)
	}
	line("| plugin RSS idle | %s MiB | %s MiB | — | %s |", r.rss(r.RSSIdle, Ours), r.rss(r.RSSIdle, Up), rssRatio(r.RSSIdle))
	line("| plugin RSS at %d endpoints | %s MiB | %s MiB | — | %s |", c.Density, r.rss(r.RSSN, Ours), r.rss(r.RSSN, Up), rssRatio(r.RSSN))
	line("| its policy sync child (`--policy-dir`), RSS idle / at %d endpoints | %s / %s MiB | (no such feature) | — | |", c.Density, r.SyncIdle, r.SyncN)
	line("| `run --rm` p50 with 10 containers on the engine (%d runs) | %s s | %s s | %s s | |", c.DensityRuns, s2(p50(r.D10[Ours])), s2(p50(r.D10[Up])), s2(p50(r.D10[Bridge])))
	dn := func(s string) string {
		return fmt.Sprintf("%s s (%s×)", s2(p50(r.DN[s])), ratio(p50(r.DN[s]), p50(r.D10[s])))
	}
	line("| `run --rm` p50 with %d containers (× with 10) | %s | %s | %s | |", c.Density, dn(Ours), dn(Up), dn(Bridge))
	line("| attach (RequestAddress + CreateEndpoint + Join + ProgramExternalConnectivity) p50 at 10 endpoints | %s ms | — | — | |", ms1(a10))
	line("| attach p50 at %d endpoints (× at 10) | %s ms (%s×) | — | — | |", c.Density, ms1(aN), densRatio)
	line("| socket listening after exec, agent up | %s ms | %s ms | — | |", r.Sock[Ours], r.Sock[Up])
	line("| socket listening after exec, no agent | %s ms | %s ms | — | |", r.SockDown[Ours], r.SockDown[Up])
	line("| plugin's own time per attach, p50 / p99 | %s / %s ms | — | — | |", own50, own99)
	line("")
	r.notes(w)
	r.phases(w)
	lastB := c.Bursts[len(c.Bursts)-1]
	burstMet := "**not met**"
	if r.Burst[burstKey(Ours, lastB)].fails == 0 {
		burstMet = "met"
	}
	line("## Goals")
	line("")
	line("| goal | now | |")
	line("|---|---|---|")
	line("| `run --rm` p50 ≤ 0.9× upstream | %s× | %s |", rmRatio, met(rmRatio, 1, 0.9))
	line("| labelled-ready time ≤ 0.3× upstream's | %s× | %s |", readyRatio, met(readyRatio, 1, 0.3))
	ownMet := met(own50, 1, 5)
	if p50(r.Own) < 0 {
		ownMet = "not measured: below zero, the endpoint build Join hands over runs partly outside the handlers"
	}
	line("| plugin's own time per attach p50 ≤ 5 ms | %s ms | %s |", own50, ownMet)
	line("| RSS ≤ 25 MB idle | %s MiB | %s |", r.rss(r.RSSIdle, Ours), met(r.rss(r.RSSIdle, Ours), 1.048576, 25))
	line("| RSS ≤ 40 MB at %d endpoints | %s MiB | %s |", c.Density, r.rss(r.RSSN, Ours), met(r.rss(r.RSSN, Ours), 1.048576, 40))
	line("| attach at %d endpoints ≤ 1.2× at 10 | %s× | %s |", c.Density, densRatio, met(densRatio, 1, 1.2))
	line("| %d-burst 100 %% success | %s | %s |", lastB, r.started(Ours, lastB), burstMet)
	if ch := r.Churn; ch != nil {
		line("")
		line("## Churn (this plugin)")
		line("")
		line("%d cycles in %.3f s: goroutines %d → %d, open fds %d → %d, RSS %.1f → %.1f MiB; %d agent endpoints left. `make test` runs a 100-cycle churn (`TestChurn`).",
			ch.cycles, ch.wall, ch.before.goroutines, ch.after.goroutines, ch.before.fds, ch.after.fds, ch.before.rssMiB, ch.after.rssMiB, ch.left)
	}
}

// notes says how each row is measured.
func (r *UpstreamResult) notes(w io.Writer) {
	fmt.Fprintf(w, `The plugin's own time per attach is, per `+"`docker run`"+` of the `+"`--rm`"+` series, the time of its
RequestAddress, CreateEndpoint, Join and ProgramExternalConnectivity handlers minus the agent and Docker calls they made
(`+"`cilium_docker_plugin_call_duration_seconds`, `…_agent_call_duration_seconds`"+`,
`+"`…_docker_call_duration_seconds`"+` sums from `+"`/metrics`"+`, read before and after each run). Runs are
timed in Go (`+"`time.Now`"+`) around the node's `+"`docker`"+` CLI, run on the host against the node's engine
socket (the bed's exec wrapper, about 20 ms, is not counted); percentiles are nearest-rank
(`+"`internal/bench.Percentile`"+`). Readiness is the agent's own event that it built the endpoint under the
container's label (`+"`cilium monitor -t agent`"+`: "Endpoint regenerated" with `+"`container:bench=<name>`"+`,
stamped on arrival); the endpoint turns `+"`ready`"+` with it. The polled row is the same moment as first
seen in the agent's endpoint list, whose rate limit (10 reads a second, burst 20) makes it ±0.1 s.
The plugin RSS rows are the plugin process alone; with `+"`--policy-dir`"+` (on in the bed) the policy sync
runs beside it as its child `+"`cilium-docker-policy sync`"+` (Cilium's parser and the etcd client), shown in
its own row. Upstream has no policy sync.
Lost first pings: a new container pings a running one every 10 ms from its first instant; the
sequence number of the first answer is how many were lost. Attach is the time dockerd waits on this
plugin to attach a container (the four handlers' durations from `+"`/metrics`"+`, the agent's endpoint
build included); the density rows put 10, then %d, sleeping containers on each side's network,
and the bridge runs on this plugin's dockerd beside them, so its ratio is the engine's own growth.

`, r.Cfg.Density)
}

// phaseRows are the phases table's rows: label and phase, in bench.sh's order.
var phaseRows = [][2]string{
	{"create request → first address request (container create, start request)", PhaseCreateAddress},
	{"address request → OCI bundle (every network driver call of the start: RequestAddress, CreateEndpoint, Join with the agent's endpoint build, ProgramExternalConnectivity)", PhaseAddressBundle},
	{"OCI bundle → task started (containerd, runc create with libnetwork's setkey hook)", PhaseBundleTaskStart},
	{"… of which the setkey hook (moving the interface in, addresses, routes, the embedded DNS)", PhaseSetKey},
	{"task started → exited (`true`)", PhaseTaskStartExit},
	{"exited → address release (Revoke, Leave with the agent's endpoint delete, DeleteEndpoint)", PhaseExitRelease},
	{"address release → container deleted", PhaseReleaseDeleted},
	{"**create request → container deleted**", PhaseCreateDeleted},
}

// phases writes the phases table: each phase's p50 in ms, by plugin.
func (r *UpstreamResult) phases(w io.Writer) {
	p := func(side, phase string) string {
		v := p50(r.Phases[side][phase])
		if math.IsNaN(v) {
			return "n/a"
		}
		return fmt.Sprintf("%.1f", v)
	}
	fmt.Fprint(w, "## Where a `docker run --rm` spends its time, from dockerd's log\n\n"+
		"The same `--rm` series, each phase's p50 from the debug log of each side's dockerd (Docker 20.10\n"+
		"logs each step; the phases are between those log lines, in ms):\n\n"+
		"| phase | ours | upstream |\n|---|---|---|\n")
	for _, row := range phaseRows {
		fmt.Fprintf(w, "| %s | %s | %s |\n", row[0], p(Ours, row[1]), p(Up, row[1]))
	}
	fmt.Fprint(w, "\nDocker 20.10 makes every network driver call of a start before it writes the OCI bundle and creates\n"+
		"the task (moby v20.10.24 `daemon/start.go`: `initializeNetworking` at line 149, `containerd.Create` at\n"+
		"181); the setkey hook inside runc create calls no driver (libnetwork `sandbox.go`,\n"+
		"`populateNetworkResources`). So the agent's endpoint build, which both plugins wait for (ours in Join,\n"+
		"upstream in CreateEndpoint with `SyncBuildEndpoint`), is on the path of every start, and no plugin\n"+
		"call comes later that could hold the container until a build begun earlier is done. The plugins\n"+
		"differ only in what they do around that build.\n\n")
}
