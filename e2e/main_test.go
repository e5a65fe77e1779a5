package e2e

import (
	"fmt"
	"testing"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestMain names the leg in the log header, so that every failure of this run is read against it.
func TestMain(m *testing.M) {
	leg := bed.MustLeg() // a malformed E2E_LEG panics: no test runs against a leg nobody asked for
	fmt.Printf("e2e leg: %s (docker %s, cilium %s)\n", leg, leg.Docker, leg.Cilium)
	m.Run()
}
