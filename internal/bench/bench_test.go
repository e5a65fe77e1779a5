package bench

import "testing"

func TestConfigCheck(t *testing.T) {
	good := Config{Runs: 1, Density: 10, DensityRuns: 1, Burst: 1, Nodes: 2, PolicyRuns: 1, ReachRuns: 1, Lanes: 1}
	if err := good.Check(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, c := range map[string]Config{
		"one node":      func() Config { c := good; c.Nodes = 1; return c }(),
		"ten nodes":     func() Config { c := good; c.Nodes = 10; return c }(),
		"density 9":     func() Config { c := good; c.Density = 9; return c }(),
		"no runs":       func() Config { c := good; c.Runs = 0; return c }(),
		"unknown group": func() Config { c := good; c.Rows = []string{"density", "wireguard"}; return c }(),
	} {
		if err := c.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	some := good
	some.Rows = []string{"density", "cluster"}
	if some.wants("single") || !some.wants("cluster") || !good.wants("burst") {
		t.Errorf("wants: %v selects wrong groups", some.Rows)
	}
}
