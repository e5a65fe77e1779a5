package bench

import (
	"math"
	"strings"
	"testing"
)

// A `docker run --rm … true` on the cilium network in Docker 20.10's debug log (the lines
// ParsePhases reads, with some of those around them), then one on the bridge, then one across midnight
// without its bundle line.
const dockerdLog = `time="2026-12-02T10:11:12.000000000Z" level=debug msg="Calling POST /v1.41/containers/create?name=x"
time="2026-12-02T10:11:12.004000000Z" level=debug msg="container mounted via layerStore: &{/var/lib/docker/overlay2/abc/merged 0x55 0x55}" container=abc
time="2026-12-02T10:11:12.010000000Z" level=debug msg="Calling POST /v1.41/containers/abc/start"
time="2026-12-02T10:11:12.015500000Z" level=debug msg="Assigning addresses for endpoint eloquent_x's interface on network cilium-net"
time="2026-12-02T10:11:12.016000000Z" level=debug msg="RequestAddress(10.70.0.0/16, <nil>, map[])"
time="2026-12-02T10:11:12.020000000Z" level=debug msg="Assigning addresses for endpoint eloquent_x's interface on network cilium-net"
time="2026-12-02T10:11:12.195000000Z" level=debug msg="bundle dir created" bundle=/var/run/docker/containerd/abc module=libcontainerd namespace=moby root=/var/lib/docker/overlay2/abc/merged
time="2026-12-02T10:11:12.300000000Z" level=debug msg="sandbox set key processing took 109.9ms for container abc"
time="2026-12-02T10:11:12.416800000Z" level=debug msg=event module=libcontainerd namespace=moby topic=/tasks/create
time="2026-12-02T10:11:12.417000000Z" level=debug msg=event module=libcontainerd namespace=moby topic=/tasks/start
time="2026-12-02T10:11:12.419200000Z" level=debug msg=event module=libcontainerd namespace=moby topic=/tasks/exit
time="2026-12-02T10:11:12.473800000Z" level=debug msg="Releasing addresses for endpoint eloquent_x's interface on network cilium-net"
time="2026-12-02T10:11:12.479000000Z" level=debug msg=event module=libcontainerd namespace=moby topic=/containers/delete
time="2026-12-02T10:11:13.000000000Z" level=debug msg="Calling POST /v1.41/containers/create"
time="2026-12-02T10:11:13.010000000Z" level=debug msg="Assigning addresses for endpoint x's interface on network bridge"
time="2026-12-02T10:11:13.100000000Z" level=debug msg="bundle dir created" bundle=/var/run/docker/containerd/def
time="2026-12-02T10:11:13.300000000Z" level=debug msg=event module=libcontainerd namespace=moby topic=/containers/delete
time="2026-12-02T23:59:59.900000000Z" level=debug msg="Calling POST /v1.41/containers/create"
time="2026-12-02T23:59:59.950000000Z" level=debug msg="Assigning addresses for endpoint y's interface on network cilium-net"
time="2026-12-03T00:00:00.100000000Z" level=debug msg="sandbox set key processing took 850µs for container ghi"
time="2026-12-03T00:00:00.200000000Z" level=debug msg=event module=libcontainerd namespace=moby topic=/tasks/start
time="2026-12-03T00:00:00.210000000Z" level=debug msg=event module=libcontainerd namespace=moby topic=/tasks/exit
time="2026-12-03T00:00:00.300000000Z" level=debug msg="Releasing addresses for endpoint y's interface on network cilium-net"
time="2026-12-03T00:00:00.400000000Z" level=debug msg=event module=libcontainerd namespace=moby topic=/containers/delete
time="2026-12-03T00:00:01.000000000Z" level=debug msg=event module=libcontainerd namespace=moby topic=/containers/delete
`

func TestParsePhases(t *testing.T) {
	got, err := ParsePhases(strings.NewReader(dockerdLog))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{
		PhaseCreateAddress:   {15.5, 50},
		PhaseAddressBundle:   {179.5},
		PhaseBundleTaskStart: {222},
		PhaseSetKey:          {109.9, 0.85},
		PhaseTaskStartExit:   {2.2, 10},
		PhaseExitRelease:     {54.6, 90},
		PhaseReleaseDeleted:  {5.2, 100},
		PhaseCreateDeleted:   {479, 500},
	}
	if len(got) != len(want) {
		t.Errorf("phases %v, want those of %v", got, want)
	}
	for phase, w := range want {
		g := got[phase]
		if len(g) != len(w) {
			t.Errorf("%s: %v, want %v", phase, g, w)
			continue
		}
		for i := range w {
			if math.Abs(g[i]-w[i]) > 1e-6 {
				t.Errorf("%s[%d] = %v, want %v", phase, i, g[i], w[i])
			}
		}
	}
}

func TestSetKeyUnits(t *testing.T) {
	for line, want := range map[string]float64{
		"sandbox set key processing took 12.5ms for container x": 12.5,
		"sandbox set key processing took 1.25s for container x":  1250,
		"sandbox set key processing took 850µs for container x":  0.85,
		"sandbox set key processing took 900ns for container x":  0.9, // as the bash bench: anything else is µs
	} {
		if got, ok := setKeyMS(line); !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("%q: %v %v, want %v", line, got, ok, want)
		}
	}
	if clockOf("no clock here") != -1 {
		t.Error("a line without a clock has one")
	}
}
