package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Image is the busybox image the bed imports into every node; Net the cilium network the bench makes
// on each node.
const (
	Image = "cdbusybox:latest"
	Net   = "cilium-bench"
)

// sample is one `docker run --rm` of this plugin: its wall time, and what the plugin's attach handlers
// and the agent's endpoint builds took during it (from their /metrics, read before and after).
type sample struct {
	wall, attach, build float64
	builds              float64
	handler             []float64 // attach by handler, in attachMethods' order
	// dockerCalls and agentCalls are the plugin's seconds in each of its Docker and agent calls during
	// the run, by call.
	dockerCalls, agentCalls map[string]float64
}

// runRm times one `docker run --rm … true` on node n's network net.
func (b *Bed) runRm(ctx context.Context, n int, net string) (float64, error) {
	t0 := time.Now()
	_, err := b.docker(ctx, n, "run", "--rm", "--pull", "never", "--net", net, Image, "true")
	return secs(time.Since(t0)), err
}

// runRmMeasured is runRm on the bench's network with the plugin's and the agent's metrics around it.
func (b *Bed) runRmMeasured(ctx context.Context, n int) (sample, error) {
	pm0, err := b.scrape(ctx, n, pluginMetricsAddr)
	if err != nil {
		return sample{}, err
	}
	am0, err := b.scrape(ctx, n, agentMetricsAddr)
	if err != nil {
		return sample{}, err
	}
	wall, err := b.runRm(ctx, n, Net)
	if err != nil {
		return sample{}, err
	}
	pm1, err := b.scrape(ctx, n, pluginMetricsAddr)
	if err != nil {
		return sample{}, err
	}
	am1, err := b.scrape(ctx, n, agentMetricsAddr)
	if err != nil {
		return sample{}, err
	}
	h0, h1 := handlerSums(pm0), handlerSums(pm1)
	for i := range h1 {
		h1[i] -= h0[i]
	}
	return sample{wall: wall, attach: attachSum(pm1) - attachSum(pm0), build: buildSum(am1) - buildSum(am0),
		builds: buildCount(am1) - buildCount(am0), handler: h1,
		dockerCalls: minus(callSums(pm1, pluginDockerCall), callSums(pm0, pluginDockerCall)),
		agentCalls:  minus(callSums(pm1, pluginAgentCall), callSums(pm0, pluginAgentCall))}, nil
}

// series runs k measured `run --rm` of ours interleaved with k on the bridge.
func (b *Bed) series(ctx context.Context, n, k int) (ours []sample, bridge []float64, err error) {
	for i := range k {
		if i%2 == 1 { // alternate who goes first
			w, err := b.runRm(ctx, n, "bridge")
			if err != nil {
				return nil, nil, err
			}
			bridge = append(bridge, w)
		}
		s, err := b.runRmMeasured(ctx, n)
		if err != nil {
			return nil, nil, err
		}
		ours = append(ours, s)
		if i%2 == 0 {
			w, err := b.runRm(ctx, n, "bridge")
			if err != nil {
				return nil, nil, err
			}
			bridge = append(bridge, w)
		}
	}
	return ours, bridge, nil
}

func field(ss []sample, f func(sample) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// handlers is the p50 of each attach handler over ss, as "Name p50" for a reason.
func handlers(ss []sample) string {
	var parts []string
	for i, m := range attachMethods {
		name := strings.TrimSuffix(m[strings.LastIndexByte(m, '.')+1:], `"`)
		parts = append(parts, name+" "+ms(Percentile(field(ss, func(s sample) float64 { return s.handler[i] }), 50)))
	}
	return strings.Join(parts, ", ")
}

// calls is the p50 of each of the plugin's calls over ss (pick: its Docker or its agent calls), as
// "call p50", the longest first, those of 1 ms or more.
func calls(ss []sample, pick func(sample) map[string]float64) string {
	names := map[string]bool{}
	for _, s := range ss {
		for k := range pick(s) {
			names[k] = true
		}
	}
	type p50 struct {
		call string
		v    float64
	}
	var out []p50
	for k := range names {
		if v := Percentile(field(ss, func(s sample) float64 { return pick(s)[k] }), 50); v >= 0.001 {
			out = append(out, p50{k, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].v > out[j].v || (out[i].v == out[j].v && out[i].call < out[j].call) })
	parts := make([]string, len(out))
	for i, c := range out {
		parts[i] = c.call + " " + ms(c.v)
	}
	if len(parts) == 0 {
		return "none of 1 ms"
	}
	return strings.Join(parts, ", ")
}

// perBuild is each sample's agent build time per build (the build of its endpoint; a sample in which
// the agent built nothing is left out).
func perBuild(ss []sample) []float64 {
	var out []float64
	for _, s := range ss {
		if s.builds > 0 {
			out = append(out, s.build/s.builds)
		}
	}
	return out
}

// agentEndpoint is what the bench reads of the agent's endpoint list.
type agentEndpoint struct {
	Status struct {
		State    string `json:"state"`
		Identity struct {
			Labels []string `json:"labels"`
		} `json:"identity"`
		Policy struct {
			Realized struct {
				Revision int64 `json:"policy-revision"`
			} `json:"realized"`
		} `json:"policy"`
	} `json:"status"`
}

func (e agentEndpoint) has(label string) bool {
	for _, l := range e.Status.Identity.Labels {
		if l == label {
			return true
		}
	}
	return false
}

func (b *Bed) endpoints(ctx context.Context, n int) ([]agentEndpoint, error) {
	body, err := b.agentGet(ctx, n, "/endpoint")
	if err != nil {
		return nil, err
	}
	var eps []agentEndpoint
	if err := json.Unmarshal(body, &eps); err != nil {
		return nil, fmt.Errorf("node %d: endpoint list: %w", n, err)
	}
	return eps, nil
}

// readyAtReturn starts k labelled containers one by one and counts those the agent lists ready under
// their label in its first endpoint list after `docker run -d` returned.
func (b *Bed) readyAtReturn(ctx context.Context, n, k int) (int, error) {
	ready := 0
	var names []string
	for i := range k {
		name := fmt.Sprintf("bench-ready-%d", i)
		if _, err := b.docker(ctx, n, "run", "-d", "--pull", "never", "--name", name, "-l", "bench="+name, "--net", Net, Image, "sleep", "100000"); err != nil {
			return 0, err
		}
		names = append(names, name)
		eps, err := b.endpoints(ctx, n)
		if err != nil {
			return 0, err
		}
		for _, e := range eps {
			if e.has("container:bench="+name) && e.Status.State == "ready" {
				ready++
				break
			}
		}
	}
	_, err := b.docker(ctx, n, append([]string{"rm", "-f"}, names...)...)
	return ready, err
}

// sleepers starts containers named prefix-from … prefix-(to-1) on the bench's network, lanes at a time.
func (b *Bed) sleepers(ctx context.Context, n int, prefix string, from, to, lanes int) error {
	return parallel(from, to, lanes, func(i int) error {
		_, err := b.docker(ctx, n, "run", "-d", "--pull", "never", "--name", fmt.Sprintf("%s-%d", prefix, i), "-l", "bench.sleeper=1",
			"--net", Net, Image, "sleep", "100000")
		return err
	})
}

// removeLabelled removes node n's containers with the label, in batches.
func (b *Bed) removeLabelled(ctx context.Context, n int, label string) error {
	out, err := b.docker(ctx, n, "ps", "-aq", "--filter", "label="+label)
	if err != nil {
		return err
	}
	ids := strings.Fields(out)
	const batch = 50
	return parallel(0, (len(ids)+batch-1)/batch, 2, func(i int) error {
		_, err := b.docker(ctx, n, append([]string{"rm", "-f"}, ids[i*batch:min((i+1)*batch, len(ids))]...)...)
		return err
	})
}

// parallel runs f(from) … f(to-1), lanes at a time, and returns the first error.
func parallel(from, to, lanes int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	for range max(lanes, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// burst starts k containers at once on net and returns the wall time and how many started (their run
// returned without error and the engine lists them running), then removes them.
func (b *Bed) burst(ctx context.Context, n, k int, net, label string) (float64, int, error) {
	t0 := time.Now()
	var errs []string
	var mu sync.Mutex
	_ = parallel(0, k, k, func(i int) error {
		_, err := b.docker(ctx, n, "run", "-d", "--pull", "never", "-l", label, "--net", net, Image, "sleep", "100000")
		if err != nil {
			mu.Lock()
			errs = append(errs, err.Error())
			mu.Unlock()
		}
		return nil
	})
	wall := secs(time.Since(t0))
	out, err := b.docker(ctx, n, "ps", "-q", "--filter", "label="+label, "--filter", "status=running")
	if err != nil {
		return 0, 0, err
	}
	started := len(strings.Fields(out))
	if len(errs) > 0 {
		b.logf("burst on %s: %d runs failed, the first: %s", net, len(errs), errs[0])
	}
	return wall, started, b.removeLabelled(ctx, n, label)
}
