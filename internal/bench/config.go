package bench

import (
	"errors"
	"fmt"
	"slices"
)

// Config is a run's scale.
type Config struct {
	Runs        int // `docker run --rm` of each side in the first row, and labelled runs in the second
	Density     int // sleeping containers of the density row (issue 20: 500)
	DensityRuns int // measured `run --rm` at 10 and at Density
	Burst       int // concurrent `docker run -d` (issue 20: 100)
	Nodes       int // nodes of the cluster rows (issue 20: at least 4; the bed holds 9)
	PolicyRuns  int // rules applied one after another
	ReachRuns   int // new containers reached across nodes
	Lanes       int // concurrent `docker run -d` while filling the density row
	// Rows are the groups of rows to measure (RowGroups' names); empty: all of them.
	Rows []string
}

// RowGroups are the groups of rows, in the order a run measures them.
func RowGroups() []string { return []string{"single", "density", "burst", "cluster"} }

func (c Config) wants(group string) bool { return len(c.Rows) == 0 || slices.Contains(c.Rows, group) }

// Check refuses a scale the bed cannot hold.
func (c Config) Check() error {
	switch {
	case c.Nodes < 2 || c.Nodes > 9:
		return fmt.Errorf("nodes must be 2-9 (the bed's nodes), got %d", c.Nodes)
	case c.Density < 10:
		return fmt.Errorf("density must be at least 10 (it is compared with 10), got %d", c.Density)
	case slices.ContainsFunc(c.Rows, func(g string) bool { return !slices.Contains(RowGroups(), g) }):
		return fmt.Errorf("rows must be among %v, got %v", RowGroups(), c.Rows)
	case c.Runs < 1 || c.DensityRuns < 1 || c.Burst < 1 || c.PolicyRuns < 1 || c.ReachRuns < 1 || c.Lanes < 1:
		return errors.New("runs, density runs, burst, policy runs, reach runs and lanes must be at least 1")
	}
	return nil
}
