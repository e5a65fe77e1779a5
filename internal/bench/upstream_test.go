package bench

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRotation(t *testing.T) {
	for r, want := range map[int][]string{1: {Ours, Up, Bridge}, 2: {Up, Bridge, Ours}, 3: {Bridge, Ours, Up}, 4: {Ours, Up, Bridge}} {
		if got := rotation(r); !slices.Equal(got, want) {
			t.Errorf("rotation(%d) = %v, want %v", r, got, want)
		}
	}
}

func TestSeqNames(t *testing.T) {
	// fill's lanes of 11…30: lane 0 takes d11, d15, …, d27; unfill's lane 3 of 30 takes d4, d8, …, d28.
	if got := seqNames("d", 11, 4, 30); !slices.Equal(got, []string{"d11", "d15", "d19", "d23", "d27"}) {
		t.Errorf("lane 0 of 11…30: %v", got)
	}
	if got := seqNames("d", 4, 4, 30); len(got) != 7 || got[6] != "d28" {
		t.Errorf("unfill lane 3 of 30: %v", got)
	}
	if got := seqNames("d", 11, 4, 10); got != nil {
		t.Errorf("an empty range: %v", got)
	}
}

func TestFirstSeq(t *testing.T) {
	out := "PING 10.70.0.5 (10.70.0.5): 56 data bytes\n64 bytes from 10.70.0.5: seq=16 ttl=64 time=0.181 ms\n64 bytes from 10.70.0.5: seq=17 ttl=64 time=0.1 ms\n"
	if v, ok := firstSeq(strings.NewReader(out)); !ok || v != 16 {
		t.Errorf("firstSeq = %v %v, want 16", v, ok)
	}
	if _, ok := firstSeq(strings.NewReader("PING x\n--- x ping statistics ---\n150 packets transmitted, 0 packets received\n")); ok {
		t.Error("no answer gave a sequence number")
	}
}

// The bench's beds: ours with the bed's plugin flags, the upstream one bare, make bench's agents serving
// their metrics; the versions pinned.
func TestBedOptions(t *testing.T) {
	ours := (&Bed{Docker: "20.10", Cilium: "1.19.7", Plugin: "/p"}).options()
	if ours.Plugin.MetricsAddress != pluginMetricsAddr || !ours.Plugin.PolicySync || len(ours.AgentArgs) != 0 ||
		!ours.Pinned.Docker || !ours.Pinned.Cilium {
		t.Errorf("ours: %+v", ours)
	}
	up := (&Bed{Plugin: "/u", Bare: true}).options()
	if p := up.Plugin; p.Bin != "/u" || p.MetricsAddress != "" || p.ReconcileInterval != "" || p.PolicySync || p.IdentityGCInterval != "" {
		t.Errorf("upstream plugin: %+v", up.Plugin)
	}
	if m := (&Bed{AgentMetrics: true}).options(); len(m.AgentArgs) != 1 || m.AgentArgs[0] != "--prometheus-serve-addr="+agentMetricsAddr {
		t.Errorf("agent metrics: %v", m.AgentArgs)
	}
}

func TestUpstreamConfigCheck(t *testing.T) {
	good := UpstreamConfig{Runs: 1, Bursts: []int{20, 50}, Density: 10, DensityRuns: 1}
	if err := good.Check(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, c := range map[string]UpstreamConfig{
		"no runs":    func() UpstreamConfig { c := good; c.Runs = 0; return c }(),
		"no bursts":  func() UpstreamConfig { c := good; c.Bursts = nil; return c }(),
		"burst 0":    func() UpstreamConfig { c := good; c.Bursts = []int{0}; return c }(),
		"density 9":  func() UpstreamConfig { c := good; c.Density = 9; return c }(),
		"churn -1":   func() UpstreamConfig { c := good; c.Churn = -1; return c }(),
		"no samples": func() UpstreamConfig { c := good; c.DensityRuns = 0; return c }(),
	} {
		if err := c.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMonitorWait(t *testing.T) {
	m := &Monitor{changed: make(chan struct{})}
	t0 := time.Now()
	m.add(t0, "Listening for events on 2 CPUs with 64x4096 of shared memory")
	m.add(t0.Add(time.Millisecond), `Endpoint regenerated: {"id":12,"labels":["container:bench=ours1"]}`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if at, err := m.Wait(ctx, Regenerated("ours1")); err != nil || !at.Equal(t0.Add(time.Millisecond)) {
		t.Errorf("ours1: %v %v", at, err)
	}
	later := t0.Add(time.Second)
	go m.add(later, `Endpoint regenerated: {"id":13,"labels":["container:bench=ours2","container:app=x"]}`) // after Wait began, or before
	if at, err := m.Wait(ctx, Regenerated("ours2")); err != nil || !at.Equal(later) {
		t.Errorf("ours2: %v %v", at, err)
	}
	short, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := m.Wait(short, Regenerated("ours1x")); err == nil { // ours1 is no ours1x: the label ends in a quote
		t.Error("a label that never came was found")
	}
}
