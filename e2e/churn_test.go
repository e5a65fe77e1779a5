package e2e

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// pluginGauges reads the plugin's own process figures from its /metrics on the node's loopback.
func pluginGauges(t *testing.T, nd *bed.Node) map[string]float64 {
	t.Helper()
	out := nd.Exec(t, "curl", "-sf", "--max-time", "5", "http://127.0.0.1:9962/metrics")
	want := []string{"go_goroutines", "process_open_fds", "process_resident_memory_bytes"}
	got := map[string]float64{}
	for _, l := range strings.Split(out, "\n") {
		name, val, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		for _, w := range want {
			if name == w {
				v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil {
					t.Fatalf("metric %s: %q: %v", name, val, err)
				}
				got[name] = v
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("plugin /metrics lacks some of %v: got %v", want, got)
	}
	return got
}

// TestChurn creates and destroys containers in a loop (E2E_CHURN cycles, default 100, in 4 lanes):
// afterwards the plugin's goroutines and open fds are back at their level after a warm-up, its
// memory has not grown by more than a few MB, and no endpoint, address or link is left.
func TestChurn(t *testing.T) {
	cycles := 100
	if v := os.Getenv("E2E_CHURN"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("E2E_CHURN=%q: want a positive count", v)
		}
		cycles = n
	}
	const lanes = 4
	nd := bed.Up(t, 1)
	net := "cd-churn"
	nd.Network(t, net)
	base := nd.LeakBase(t)
	cycle := func(lane, i int) error {
		out, err := nd.Docker(t, "run", "--rm", "--pull", "never", "--name", fmt.Sprintf("churn%d-%d", lane, i),
			"-l", "app=churn", "--net", net, bed.Image, "true")
		if err != nil {
			return fmt.Errorf("cycle %d of lane %d: %w: %s", i, lane, err, out)
		}
		return nil
	}
	run := func(n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, lanes)
		for lane := range lanes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := lane; i < n; i += lanes {
					if err := cycle(lane, i); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	run(2 * lanes) // warm-up: the clients' connection pools fill to their working size
	before := pluginGauges(t, nd)
	start := time.Now()
	run(cycles)
	took := time.Since(start)
	// Idle goroutines of finished calls exit within moments; poll rather than guess.
	var after map[string]float64
	bed.Eventually(t, 30*time.Second, "the plugin's goroutines and fds back at their warm level", func() error {
		after = pluginGauges(t, nd)
		for _, k := range []string{"go_goroutines", "process_open_fds"} {
			if after[k] > before[k]+2 {
				return fmt.Errorf("%s: %v after %d cycles, %v before", k, after[k], cycles, before[k])
			}
		}
		return nil
	})
	rssGrowth := (after["process_resident_memory_bytes"] - before["process_resident_memory_bytes"]) / (1 << 20)
	t.Logf("%d create/destroy cycles in %s (%.0f ms each, %d lanes): goroutines %v -> %v, fds %v -> %v, RSS %.1f -> %.1f MiB",
		cycles, took.Round(time.Millisecond), float64(took.Milliseconds())/float64(cycles)*lanes, lanes,
		before["go_goroutines"], after["go_goroutines"], before["process_open_fds"], after["process_open_fds"],
		before["process_resident_memory_bytes"]/(1<<20), after["process_resident_memory_bytes"]/(1<<20))
	if math.Abs(rssGrowth) > 8 {
		t.Errorf("RSS grew by %.1f MiB over %d cycles, want at most 8", rssGrowth, cycles)
	}
	nd.AssertNoLeak(t, nd.NetworkID(t, net), base, nil, nil)
}
