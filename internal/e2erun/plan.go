package e2erun

import (
	"strings"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

// Plan is where the run builds what: the legs built in front, one after the other, before any leg
// runs; those built at nice 19 in the background, beside the first leg (whose tests mostly wait on
// daemons: cold, that hides one agent's build); and when the long test starts.
type Plan struct {
	Front      []string // built in front, in order
	Background []string // built at nice 19 in the background, in order
	// LongAfter is when the long test starts: LongNone (not in this run), LongFront (after the front
	// builds) or LongBackground (after the first background build, its pair's).
	LongAfter LongStart
	// EachLeg: each leg after the first builds again in front before it runs (it waits for the
	// background build, through the build scripts' locks, or finds it cached).
	EachLeg bool
}

// LongStart is when the long test starts.
type LongStart int

// When the long test starts: not in this run, after the front builds, after its pair's background
// build.
const (
	LongNone LongStart = iota
	LongFront
	LongBackground
)

// plan is the run's builds: --build builds the long test's pair then every leg, in front; side by side,
// every leg's then the long test's pair, in front; else the first leg's in front, and the long test's
// pair (unless it is the first leg's) and the other legs' in the background.
func plan(legs []string, long, parallel, buildOnly bool, longLeg string) Plan {
	var p Plan
	switch {
	case buildOnly:
		if long {
			p.Front = append(p.Front, longLeg)
		}
		p.Front = append(p.Front, legs...)
	case parallel:
		p.Front = append(p.Front, legs...)
		if long {
			p.Front = append(p.Front, longLeg)
			p.LongAfter = LongFront
		}
	default:
		p.Front = legs[:1]
		p.EachLeg = len(legs) > 1
		if long && legs[0] == longLeg {
			p.LongAfter = LongFront
		} else if long {
			p.Background = append(p.Background, longLeg)
			p.LongAfter = LongBackground
		}
		p.Background = append(p.Background, legs[1:]...)
	}
	return p
}

// buildSteps are the build scripts' command lines for the leg, in order: its agent and the upgrade's
// when a test of the leg upgrades to it, etcd, docker compose (for TestComposeStack), and its engine
// unless Debian's (installed, not built).
func buildSteps(leg string) ([][]string, error) {
	l, err := matrix.ParseLeg(leg)
	if err != nil {
		return nil, err
	}
	agents, err := matrix.AgentsOf(leg)
	if err != nil {
		return nil, err
	}
	var steps [][]string
	for _, a := range agents {
		steps = append(steps, []string{"scripts/build-cilium.sh", a})
	}
	steps = append(steps, []string{"scripts/build-etcd.sh"}, []string{"scripts/build-compose.sh"})
	if l.Engine != "20.10" && !strings.HasPrefix(l.Engine, "20.10.") {
		steps = append(steps, []string{"scripts/build-docker.sh", l.Engine})
	}
	return steps, nil
}
