package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// upstreamLanes are the concurrent `docker run` of the fill and the churn (bench.sh's LANES).
const upstreamLanes = 4

// inLanes runs f(lane) for each of lanes lanes at once and waits for all.
func inLanes(lanes int, f func(lane int)) {
	var wg sync.WaitGroup
	for l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(l)
		}()
	}
	wg.Wait()
}

// burstResult is a burst's wall seconds and how many of its runs failed.
type burstResult struct {
	wall  float64
	fails int
}

// burst starts n sleeping containers b1…bn at once and returns the wall time until every `docker run -d`
// returned and how many failed; then removes them.
func (s *side) burst(ctx context.Context, n int) burstResult {
	t0 := time.Now()
	var mu sync.Mutex
	fails := 0
	inLanes(n, func(i int) {
		if _, err := s.docker(ctx, "run", "-d", "--pull", "never", "--init", "--name", fmt.Sprintf("b%d", i+1), "-l", "app=bench",
			"--net", s.net, Image, "sleep", "100000"); err != nil {
			mu.Lock()
			fails++
			mu.Unlock()
		}
	})
	r := burstResult{wall: secs(time.Since(t0)), fails: fails}
	_, _ = s.docker(ctx, append([]string{"rm", "-f"}, seqNames("b", 1, 1, n)...)...)
	return r
}

// seqNames are prefix+i for i = from, from+step, … ≤ to.
func seqNames(prefix string, from, step, to int) []string {
	var out []string
	for i := from; i <= to; i += step {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// fill starts sleeping containers dfrom…dto on the side's network, in upstreamLanes lanes (lane k takes
// from+k, from+k+lanes, …); a failed one is logged.
func (s *side) fill(ctx context.Context, from, to int) {
	inLanes(upstreamLanes, func(lane int) {
		for _, name := range seqNames("d", from+lane, upstreamLanes, to) {
			if _, err := s.docker(ctx, "run", "-d", "--pull", "never", "--init", "--name", name, "-l", "app=density",
				"--net", s.net, Image, "sleep", "100000"); err != nil {
				s.bed.logf("%s: density container %s failed: %v", s.name, name, err)
			}
		}
	})
}

// unfill removes d1…dn, one `rm -f` a lane.
func (s *side) unfill(ctx context.Context, n int) {
	inLanes(upstreamLanes, func(lane int) {
		if names := seqNames("d", lane+1, upstreamLanes, n); len(names) > 0 {
			_, _ = s.docker(ctx, append([]string{"rm", "-f"}, names...)...)
		}
	})
}

// churnResult is this plugin's churn: cycles of `docker run --rm` in lanes, the wall time, the plugin's
// gauges before and after, and the agent's endpoints left (the host's not counted).
type churnResult struct {
	cycles        int
	wall          float64
	before, after gauges
	left          int
}

// churn runs cycles `docker run --rm … true` in upstreamLanes lanes, then waits up to 30 s (reading every
// second) for the plugin's goroutines and descriptors to come back within 2 of where they were.
func (s *side) churn(ctx context.Context, cycles int) (churnResult, error) {
	r := churnResult{cycles: cycles}
	text, err := s.metrics(ctx)
	if err != nil {
		return r, err
	}
	r.before = readGauges(text)
	t0 := time.Now()
	inLanes(upstreamLanes, func(lane int) {
		for i := lane; i <= cycles-1; i += upstreamLanes {
			if _, err := s.docker(ctx, "run", "--rm", "--pull", "never", "--name", fmt.Sprintf("churn%d", i), "-l", "app=churn",
				"--net", s.net, Image, "true"); err != nil {
				s.bed.logf("churn cycle %d failed: %v", i, err)
			}
		}
	})
	r.wall = secs(time.Since(t0))
	r.after = r.before
	for deadline := time.Now().Add(30 * time.Second); ; { // goroutines of finished calls exit within moments
		text, err := s.metrics(ctx)
		if err != nil {
			return r, err
		}
		r.after = readGauges(text)
		if (r.after.goroutines <= r.before.goroutines+2 && r.after.fds <= r.before.fds+2) || time.Now().After(deadline) {
			break
		}
		if err := pause(ctx, time.Second); err != nil {
			return r, err
		}
	}
	out, err := s.exec(ctx, "cilium", "endpoint", "list", "-o", "json")
	if err != nil {
		return r, err
	}
	r.left, err = endpointsLeft([]byte(out))
	return r, err
}

// endpointsLeft counts the agent's endpoints (`cilium endpoint list -o json`) but the host's.
func endpointsLeft(list []byte) (int, error) {
	var eps []struct {
		Status struct {
			Labels struct {
				SecurityRelevant []string `json:"security-relevant"`
			} `json:"labels"`
		} `json:"status"`
	}
	if err := json.Unmarshal(list, &eps); err != nil {
		return 0, fmt.Errorf("endpoint list: %w", err)
	}
	n := 0
	for _, e := range eps {
		if !slices.Contains(e.Status.Labels.SecurityRelevant, "reserved:host") {
			n++
		}
	}
	return n, nil
}
