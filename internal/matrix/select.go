package matrix

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// TestsOn are the tests the leg's go test run selects, in the table's order: those that declare the
// leg, less the long test, which runs on a bed of its own.
func TestsOn(leg string) ([]string, error) {
	if _, err := LegNamed(leg); err != nil {
		return nil, err
	}
	var names []string
	for _, t := range Tests() {
		if !t.Long && slices.Contains(t.Legs, leg) {
			names = append(names, t.Name)
		}
	}
	return names, nil
}

// RunPattern is go test's -run pattern for the leg: its tests by name, anchored, so that go test
// selects exactly them (a test is selected, never skipped).
func RunPattern(leg string) (string, error) {
	names, err := TestsOn(leg)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", fmt.Errorf("leg %q runs no test", leg)
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return "^(" + strings.Join(quoted, "|") + ")$", nil
}

// LongTest is the one test that runs on a bed of its own, and the leg whose versions it runs.
func LongTest() (name, leg string, err error) {
	for _, t := range Tests() {
		if !t.Long {
			continue
		}
		if name != "" || len(t.Legs) != 1 {
			return "", "", fmt.Errorf("the matrix wants one long test on one leg, not %s %v", t.Name, t.Legs)
		}
		name, leg = t.Name, t.Legs[0]
	}
	if name == "" {
		return "", "", fmt.Errorf("the matrix has no long test")
	}
	return name, leg, nil
}

// AgentsOf are the cilium-agents a bed of the leg needs: its own, and UpgradeTo when one of its tests
// upgrades to it. An ad-hoc leg (not in the matrix) needs its own only.
func AgentsOf(leg string) ([]string, error) {
	l, err := ParseLeg(leg)
	if err != nil {
		return nil, err
	}
	agents := []string{l.Agent}
	for _, t := range Tests() {
		if t.Upgrade && slices.Contains(t.Legs, leg) && !slices.Contains(agents, UpgradeTo) {
			agents = append(agents, UpgradeTo)
		}
	}
	return agents, nil
}
