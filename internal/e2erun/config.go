package e2erun

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

// Config is one run of the e2e tier, as cmd/testbed reads it from its arguments and environment.
type Config struct {
	Repo      string   // the checkout: scripts/ and ./e2e/ are found here, children run here
	Legs      []string // the legs to run, in order (default: every leg of the matrix)
	BuildOnly bool     // --build: build what the legs need, then return
	Run       string   // E2E_RUN: go test -run for every leg instead of the leg's tests (no long test, no exact-set check)
	Long      bool     // E2E_LONG != 0: the long test on its own bed (left out when Run is set)
	FailFast  bool     // E2E_FAIL_FAST=1: stop at the first failing leg (sequential legs only)
	Parallel  bool     // E2E_PARALLEL=1: the legs side by side, each on its bed
	Timeout   string   // E2E_TIMEOUT: go test -timeout of a leg (default 45m)
	LogDir    string   // E2E_LOG_DIR (default /tmp/cilium-docker-e2e)
	PluginBin string   // PLUGIN_BIN: when empty, make build builds bin/cilium-docker
	BedID     string   // TESTBED_ID of the caller: the legs' bed (side by side: its first 5 bytes + l<i>)
	Env       []string // the children's environment (TESTBED_ID, E2E_LEG, E2E_UPGRADE_TO added per child)
	Out, Err  io.Writer
}

// DefaultTimeout is a leg's go test -timeout unless E2E_TIMEOUT says otherwise.
const DefaultTimeout = "45m"

// longTimeout is the long test's go test -timeout.
const longTimeout = "20m"

// LegNames are the matrix's legs, in its order.
func LegNames() []string {
	var names []string
	for _, l := range matrix.Legs() {
		names = append(names, l.Name())
	}
	return names
}

// CheckLegs refuses a leg name that is no docker<version>-cilium<version>, and a leg not in the matrix
// unless run (E2E_RUN) selects the tests: an ad-hoc leg has no tests of its own.
func CheckLegs(legs []string, run string) error {
	all := LegNames()
	for _, leg := range legs {
		if _, err := matrix.ParseLeg(leg); err != nil {
			return fmt.Errorf("bad leg: %w", err)
		}
		if run == "" && !slices.Contains(all, leg) {
			return fmt.Errorf("leg %q is not in the matrix (%v; internal/matrix); an ad-hoc leg needs E2E_RUN", leg, all)
		}
	}
	return nil
}

// goTimeout is the go test -timeout of a leg, and the deadline of its child (a margin beyond it, for
// go test to report the timeout itself).
func (c Config) goTimeout() (string, time.Duration, error) {
	s := c.Timeout
	if s == "" {
		s = DefaultTimeout
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return "", 0, fmt.Errorf("E2E_TIMEOUT %q: want a positive duration such as 45m", s)
	}
	return s, d + childMargin, nil
}

// withLong says whether the run starts the long test: asked for, and no E2E_RUN pattern.
func (c Config) withLong() bool { return c.Long && c.Run == "" }

// bedID is leg i's TESTBED_ID: the caller's, or side by side a bed of each leg's own.
func (c Config) bedID(i int) string {
	if !c.Parallel {
		return c.BedID
	}
	return fmt.Sprintf("%.5sl%d", c.BedID, i)
}

// runFilter is go test's -run for the leg: E2E_RUN, else the matrix's tests of the leg.
func (c Config) runFilter(leg string) (string, error) {
	if c.Run != "" {
		return c.Run, nil
	}
	return matrix.RunPattern(leg)
}

// expected are the top-level tests the leg must pass, sorted: the matrix's tests of the leg; none for
// an E2E_RUN pattern.
func (c Config) expected(leg string) ([]string, error) {
	if c.Run != "" {
		return nil, nil
	}
	names, err := matrix.TestsOn(leg)
	if err != nil {
		return nil, err
	}
	names = slices.Clone(names)
	slices.Sort(names)
	return slices.Compact(names), nil
}
