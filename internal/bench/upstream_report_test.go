package bench

import (
	"os"
	"strings"
	"testing"
)

func sampleResult() *UpstreamResult {
	r := newUpstreamResult(UpstreamConfig{Runs: 3, Bursts: []int{10, 20}, Density: 30, DensityRuns: 3, Churn: 20})
	r.Machine = machine{cores: 2, model: "AMD EPYC", memGiB: 23.5, kernel: "6.1.0", load: "1.00 2.00 3.00"}
	r.Engine, r.Cilium = "20.10.24+dfsg1", "1.19.7"
	r.Rm = map[string][]float64{Ours: {0.52, 0.50, 0.51}, Up: {1.00, 1.04, 1.02}, Bridge: {0.30, 0.31, 0.32}}
	r.Ret = map[string][]float64{Ours: {0.5, 0.5, 0.5}, Up: {0.6, 0.6, 0.6}, Bridge: {0.25, 0.25, 0.25}}
	r.Ready = map[string][]float64{Ours: {0.25, 0.26, 0.24}, Up: {1.0, 1.0, 1.0}}
	r.Polled = map[string][]float64{Ours: {0.3, 0.3, 0.3}, Up: {1.2, 1.2, 1.2}}
	r.AtRet = map[string][]bool{Ours: {true, true, true}, Up: {false, false, false}}
	r.First = map[string][]float64{Ours: {0, 0, 1}, Up: {16, 18, 15}, Bridge: {0, 0, 0}}
	for _, s := range upstreamSides {
		r.Burst[burstKey(s, 10)] = burstResult{wall: 2.5, fails: 0}
		r.Burst[burstKey(s, 20)] = burstResult{wall: 5, fails: 0}
	}
	r.Burst[burstKey(Ours, 20)] = burstResult{wall: 4, fails: 1}
	r.RSSIdle = map[string]float64{Ours: 19.7, Up: 43.0}
	r.RSSN = map[string]float64{Ours: 24.0, Up: 48.5}
	r.SyncIdle, r.SyncN = "31.1", "31.2"
	r.D10 = map[string][]float64{Ours: {0.5, 0.5, 0.5}, Up: {0.6, 0.6, 0.6}, Bridge: {0.3, 0.3, 0.3}}
	r.DN = map[string][]float64{Ours: {0.6, 0.6, 0.6}, Up: {0.6, 0.6, 0.6}, Bridge: {0.36, 0.36, 0.36}}
	r.Attach10, r.AttachN = []float64{0.100, 0.101, 0.099}, []float64{0.110, 0.111, 0.112}
	r.Own = []float64{0.0014, 0.0012, 0.0022}
	r.Sock = map[string]string{Ours: "10", Up: "38"}
	r.SockDown = map[string]string{Ours: "12", Up: "> 5000"}
	r.Phases = map[string]map[string][]float64{Ours: {PhaseCreateAddress: {15.5, 16, 14}, PhaseSetKey: {109.9}}, Up: {PhaseCreateAddress: {20}}}
	r.Churn = &churnResult{cycles: 20, wall: 6.25, before: gauges{30, 20, 28.4}, after: gauges{32, 21, 27.7}, left: 0}
	return r
}

func TestUpstreamMarkdown(t *testing.T) {
	md := sampleResult().Section()
	for _, row := range []string{
		"| `docker run --rm … true` p50 (3 runs) | 0.51 s | 1.02 s | 0.31 s | 0.50 |",
		"| `docker run --rm … true` p90 | 0.52 s | 1.04 s | 0.32 s | 0.50 |",
		"| `docker run -d` p50, until it returns | 0.50 s | 0.60 s | 0.25 s | 0.83 |",
		"| run start → endpoint `ready` under its labels, p50 | 0.25 s | 1.00 s | — | 0.25 |",
		"| … of those, ready when `docker run` returned | 3/3 | 0/3 | — | |",
		"| … the same, as first seen ready in the agent's endpoint list (polled), p50 | 0.30 s | 1.20 s | — | 0.25 |",
		"| first pings lost by a new container (10 ms apart), median (max) | 0 (1) | 16 (18) | 0 (0) | |",
		"| burst of 10 concurrent `run -d`: wall (started) | 2.500 s (10/10) | 2.500 s (10/10) | 2.500 s (10/10) | 1.00 |",
		"| burst of 20 concurrent `run -d`: wall (started) | 4.000 s (19/20) | 5.000 s (20/20) | 5.000 s (20/20) | 0.80 |",
		"| plugin RSS idle | 19.7 MiB | 43.0 MiB | — | 0.46 |",
		"| plugin RSS at 30 endpoints | 24.0 MiB | 48.5 MiB | — | 0.49 |",
		"| its policy sync child (`--policy-dir`), RSS idle / at 30 endpoints | 31.1 / 31.2 MiB | (no such feature) | — | |",
		"| `run --rm` p50 with 10 containers on the engine (3 runs) | 0.50 s | 0.60 s | 0.30 s | |",
		"| `run --rm` p50 with 30 containers (× with 10) | 0.60 s (1.20×) | 0.60 s (1.00×) | 0.36 s (1.20×) | |",
		"| attach (RequestAddress + CreateEndpoint + Join + ProgramExternalConnectivity) p50 at 10 endpoints | 100.0 ms | — | — | |",
		"| attach p50 at 30 endpoints (× at 10) | 111.0 ms (1.11×) | — | — | |",
		"| socket listening after exec, agent up | 10 ms | 38 ms | — | |",
		"| socket listening after exec, no agent | 12 ms | > 5000 ms | — | |",
		"| plugin's own time per attach, p50 / p99 | 1.4 / 2.2 ms | — | — | |",
		"| create request → first address request (container create, start request) | 15.5 | 20.0 |",
		"| … of which the setkey hook (moving the interface in, addresses, routes, the embedded DNS) | 109.9 | n/a |",
		"| **create request → container deleted** | n/a | n/a |",
		"| `run --rm` p50 ≤ 0.9× upstream | 0.50× | met |",
		"| labelled-ready time ≤ 0.3× upstream's | 0.25× | met |",
		"| plugin's own time per attach p50 ≤ 5 ms | 1.4 ms | met |",
		"| RSS ≤ 25 MB idle | 19.7 MiB | met |",
		"| RSS ≤ 40 MB at 30 endpoints | 24.0 MiB | met |",
		"| attach at 30 endpoints ≤ 1.2× at 10 | 1.11× | met |",
		"| 20-burst 100 % success | 19/20 | **not met** |",
		"20 cycles in 6.250 s: goroutines 30 → 32, open fds 20 → 21, RSS 28.4 → 27.7 MiB; 0 agent endpoints left.",
		"Docker engine 20.10.24+dfsg1, cilium-agent\n1.19.7 on both beds",
		"Machine: 2 cores,\nAMD EPYC, 24 GiB,\nkernel 6.1.0, load average 1.00 2.00 3.00 at the end.",
	} {
		if !strings.Contains(md, row+"\n") && !strings.Contains(md, row) {
			t.Errorf("no row %q in\n%s", row, md)
		}
	}
	for _, h := range []string{"## Side by side", "## Where a `docker run --rm` spends its time, from dockerd's log", "## Goals", "## Churn (this plugin)"} {
		if strings.Count(md, "\n"+h+"\n") != 1 {
			t.Errorf("heading %q not once", h)
		}
	}
}

func TestUpstreamMarkdownNoData(t *testing.T) {
	r := sampleResult()
	r.Ready, r.AtRet, r.Churn = map[string][]float64{}, map[string][]bool{}, nil
	r.RSSIdle = map[string]float64{Ours: 26}
	md := r.Section()
	for _, row := range []string{
		"| run start → endpoint `ready` under its labels, p50 | n/a s | n/a s | — | n/a |",
		"| … of those, ready when `docker run` returned | n/a | n/a | — | |",
		"| labelled-ready time ≤ 0.3× upstream's | n/a× | **not met** |",
		"| plugin RSS idle | 26.0 MiB | n/a MiB | — | n/a |",
		"| RSS ≤ 25 MB idle | 26.0 MiB | **not met** |",
	} {
		if !strings.Contains(md, row) {
			t.Errorf("no row %q in\n%s", row, md)
		}
	}
	if strings.Contains(md, "## Churn") {
		t.Error("a churn section without a churn")
	}
}

func TestSpliceUpstream(t *testing.T) {
	doc, err := os.ReadFile("../../BENCHMARKS.md")
	if err != nil {
		t.Fatal(err)
	}
	old := string(doc)
	i, j := strings.Index(old, upstreamBegin), strings.Index(old, upstreamEnd)
	if i < 0 || j < i {
		t.Fatal("BENCHMARKS.md has no side-by-side markers")
	}
	got := SpliceUpstream(old, "new side by side\n")
	want := old[:i] + upstreamBegin + "\nnew side by side\n" + old[j:]
	if got != want {
		t.Errorf("spliced BENCHMARKS.md differs outside its side by side")
	}
	if again := SpliceUpstream(got, "new side by side\n"); again != got {
		t.Error("splicing twice is not splicing once")
	}
	// make bench's section is spliced by its own markers and leaves the side by side alone.
	if b := Splice(got, "at scale\n"); !strings.Contains(b, upstreamBegin+"\nnew side by side\n"+upstreamEnd) {
		t.Error("make bench's splice changed the side by side")
	}
	if got := SpliceUpstream("", "s\n"); got != docTitle+"\n\n"+upstreamBegin+"\ns\n"+upstreamEnd+"\n" {
		t.Errorf("into nothing: %q", got)
	}
	if got := SpliceUpstream(docTitle+"\n\nhand-written\n", "s\n"); got != docTitle+"\n\n"+upstreamBegin+"\ns\n"+upstreamEnd+"\n\nhand-written\n" {
		t.Errorf("into a file without markers: %q", got)
	}
}

// An own time below zero (a handed-over build outside the handlers) is not judged against the goal.
func TestUpstreamOwnTimeBelowZero(t *testing.T) {
	r := sampleResult()
	r.Own = []float64{-0.39, -0.38, -0.40}
	md := r.Section()
	if !strings.Contains(md, "| plugin's own time per attach p50 ≤ 5 ms | -390.0 ms | not measured: below zero") {
		t.Errorf("own-time goal row:\n%s", md)
	}
	if strings.Contains(md, "| plugin's own time per attach p50 ≤ 5 ms | -390.0 ms | met |") {
		t.Error("a negative own time is judged met")
	}
}
