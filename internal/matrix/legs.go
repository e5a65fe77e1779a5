package matrix

import (
	"fmt"
	"regexp"
	"slices"
)

// Kind says how much of the e2e suite a leg runs.
type Kind string

const (
	// Full legs run every test but the upgrades and the long test (and those their engine cannot run);
	// a few run on one full leg only (tests.go says which and why).
	Full Kind = "full"
	// Subset legs run the walkthrough, the restarts, the contract and the upgrades.
	Subset Kind = "subset"
	// Walkthrough legs run the single-node walkthrough only.
	Walkthrough Kind = "walkthrough"
)

// The legs by role, named as E2E_LEG spells them: docker<engine>-cilium<agent>.
const (
	// LegCurrent is the current pair: the whole suite, and the long test on a bed of its own.
	LegCurrent = "docker" + DockerCurrent + "-cilium" + CiliumCurrent
	// LegDebian is Debian's engine with the previous agent: the whole suite but the three-member etcd.
	LegDebian = "docker" + DockerDebian + "-cilium" + CiliumPrevious
	// LegUpgrade is the current engine with the previous agent, upgraded in place to UpgradeTo.
	LegUpgrade = "docker" + DockerCurrent + "-cilium" + CiliumPrevious
	// LegWalkthrough is Debian's engine with the current agent: the walkthrough.
	LegWalkthrough = "docker" + DockerDebian + "-cilium" + CiliumCurrent
)

// Leg is one cell of the matrix: the engine and agent every node of its bed runs.
type Leg struct {
	Engine string // a Docker engine version: DockerDebian or a built one
	Agent  string // a cilium-agent version
	Kind   Kind
}

// Name is the leg's name as E2E_LEG spells it: docker20.10-cilium1.19.7.
func (l Leg) Name() string { return "docker" + l.Engine + "-cilium" + l.Agent }

// Legs are the legs of the matrix in the order scripts/e2e.sh runs them.
func Legs() []Leg {
	return []Leg{
		{Engine: DockerCurrent, Agent: CiliumCurrent, Kind: Full},
		{Engine: DockerDebian, Agent: CiliumPrevious, Kind: Full},
		{Engine: DockerCurrent, Agent: CiliumPrevious, Kind: Subset},
		{Engine: DockerDebian, Agent: CiliumCurrent, Kind: Walkthrough},
	}
}

// LegNamed is the matrix leg of that name.
func LegNamed(name string) (Leg, error) {
	i := slices.IndexFunc(Legs(), func(l Leg) bool { return l.Name() == name })
	if i < 0 {
		return Leg{}, fmt.Errorf("leg %q is not in the matrix (internal/matrix)", name)
	}
	return Legs()[i], nil
}

var legName = regexp.MustCompile(`^docker([0-9]+\.[0-9]+(?:\.[0-9]+)?)-cilium([0-9]+\.[0-9]+\.[0-9]+)$`)

// ParseLeg reads a leg name such as docker29.8.1-cilium1.20.2: the matrix's leg of that name, else
// (an ad-hoc leg, for a run with a pattern of its own) its engine and agent with no kind.
func ParseLeg(name string) (Leg, error) {
	if l, err := LegNamed(name); err == nil {
		return l, nil
	}
	m := legName.FindStringSubmatch(name)
	if m == nil {
		return Leg{}, fmt.Errorf("leg %q: want docker<version>-cilium<version>, e.g. %s", name, LegCurrent)
	}
	return Leg{Engine: m[1], Agent: m[2]}, nil
}
