package bed

import (
	"fmt"
	"os"
	"regexp"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

// Leg is one cell of the test matrix: the Docker engine and cilium-agent versions every node runs.
type Leg struct {
	Docker string // "20.10" (Debian's docker.io) or a built version such as "29.8.1"
	Cilium string // e.g. "1.19.7"
}

// Name is the leg's name as E2E_LEG spells it: docker20.10-cilium1.19.7.
func (l Leg) Name() string { return "docker" + l.Docker + "-cilium" + l.Cilium }

func (l Leg) String() string { return l.Name() }

var legName = regexp.MustCompile(`^docker([0-9]+\.[0-9]+(?:\.[0-9]+)?)-cilium([0-9]+\.[0-9]+\.[0-9]+)$`)

// ParseLeg parses a leg name such as docker29.8.1-cilium1.20.2.
func ParseLeg(s string) (Leg, error) {
	m := legName.FindStringSubmatch(s)
	if m == nil {
		return Leg{}, fmt.Errorf("leg %q: want docker<version>-cilium<version>, e.g. %s", s, matrix.LegDebian)
	}
	return Leg{Docker: m[1], Cilium: m[2]}, nil
}

// CurrentLeg is the leg of this run: E2E_LEG, else DOCKER_VERSION and CILIUM_VERSION, else the
// matrix's current pair (the bed's own default, internal/testbed).
func CurrentLeg() (Leg, error) {
	if s := os.Getenv("E2E_LEG"); s != "" {
		return ParseLeg(s)
	}
	l := Leg{Docker: os.Getenv("DOCKER_VERSION"), Cilium: os.Getenv("CILIUM_VERSION")}
	if l.Docker == "" {
		l.Docker = matrix.DockerCurrent
	}
	if l.Cilium == "" {
		l.Cilium = matrix.CiliumCurrent
	}
	return ParseLeg(l.Name())
}

// MustLeg is CurrentLeg for TestMain and helpers: it panics on a malformed E2E_LEG.
func MustLeg() Leg {
	l, err := CurrentLeg()
	if err != nil {
		panic(err)
	}
	return l
}
