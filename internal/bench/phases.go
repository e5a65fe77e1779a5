package bench

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// The phases of a `docker run --rm` on the cilium network, read from dockerd's debug log (Docker 20.10
// logs each step): each is the time between two marks, in ms. Ported from scripts/the bash bench's awk.
const (
	PhaseCreateAddress   = "create_address"   // create request → first address request
	PhaseAddressBundle   = "address_bundle"   // → OCI bundle (every driver call of the start)
	PhaseBundleTaskStart = "bundle_taskstart" // → task started (containerd, runc create)
	PhaseSetKey          = "setkey"           // of which libnetwork's setkey hook ("took …")
	PhaseTaskStartExit   = "taskstart_exit"   // → exited
	PhaseExitRelease     = "exit_release"     // → address release
	PhaseReleaseDeleted  = "release_deleted"  // → container deleted
	PhaseCreateDeleted   = "create_deleted"   // the whole run
)

// phaseSpans are the phases between two marks, in the order the bash bench printed them.
var phaseSpans = [][2]string{
	{"create", "address"}, {"address", "bundle"}, {"bundle", "taskstart"}, {"taskstart", "exit"},
	{"exit", "release"}, {"release", "deleted"}, {"create", "deleted"},
}

// logClock is the first THH:MM:SS(.fff) of a line: dockerd's time="…" field.
var logClock = regexp.MustCompile(`T([0-9][0-9]):([0-9][0-9]):([0-9][0-9](\.[0-9]+)?)`)

// tookValue is libnetwork's "sandbox set key processing took 12.3ms".
var tookValue = regexp.MustCompile(`took [0-9.]+`)

// clockOf is the seconds of the day of a line's first clock, -1 without one (as the bash bench's awk).
func clockOf(l string) float64 {
	m := logClock.FindStringSubmatch(l)
	if m == nil {
		return -1
	}
	h, _ := strconv.ParseFloat(m[1], 64)
	mi, _ := strconv.ParseFloat(m[2], 64)
	s, _ := strconv.ParseFloat(m[3], 64)
	return h*3600 + mi*60 + s
}

// setKeyMS is the setkey hook's time of a "sandbox set key processing took …" line, in ms: the number's
// unit is the two bytes after it, "ms", or one starting with "s" (seconds); anything else (µs, ns) is
// taken as µs, as the bash bench did.
func setKeyMS(l string) (float64, bool) {
	loc := tookValue.FindStringIndex(l)
	if loc == nil {
		return 0, false
	}
	x, _ := strconv.ParseFloat(l[loc[0]+len("took "):loc[1]], 64) // awk's "1.2.3"+0 is 1.2; Go's is 0: never seen
	u := l[loc[1]:min(loc[1]+2, len(l))]
	switch {
	case u == "ms":
		return x, true
	case strings.HasPrefix(u, "s"):
		return x * 1000, true
	default:
		return x / 1000, true
	}
}

// ParsePhases reads dockerd's debug log and returns, by phase, the ms of each `docker run` on the
// cilium network whose create request and container delete event it holds. A run starts at a POST
// …/containers/create line and ends at the /containers/delete event; its marks are the first line of each
// step (a mark missing leaves its phases out); runs on other networks (the bridge's, on our dockerd)
// are skipped.
func ParsePhases(r io.Reader) (map[string][]float64, error) {
	out := map[string][]float64{}
	at := map[string]float64{}
	cilium := false
	setKey, haveSetKey := 0.0, false
	mark := func(k, l string) {
		if _, ok := at[k]; !ok {
			at[k] = clockOf(l)
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "containers/create") && strings.Contains(l, "POST") {
			clear(at)
			cilium, haveSetKey = false, false
			mark("create", l)
			continue
		}
		if strings.Contains(l, "on network "+UpstreamNet) {
			cilium = true
		}
		if strings.Contains(l, "Assigning addresses for endpoint") {
			mark("address", l)
		}
		if strings.Contains(l, "bundle dir created") {
			mark("bundle", l)
		}
		if strings.Contains(l, "sandbox set key processing took") {
			if v, ok := setKeyMS(l); ok {
				setKey, haveSetKey = v, true // the last one of the run
			}
		}
		if strings.Contains(l, "topic=/tasks/start") {
			mark("taskstart", l)
		}
		if strings.Contains(l, "topic=/tasks/exit") {
			mark("exit", l)
		}
		if strings.Contains(l, "Releasing addresses for endpoint") && strings.Contains(l, UpstreamNet) {
			mark("release", l)
		}
		if strings.Contains(l, "topic=/containers/delete") {
			mark("deleted", l)
			if _, ok := at["create"]; ok && cilium {
				for _, s := range phaseSpans {
					a, okA := at[s[0]]
					b, okB := at[s[1]]
					if !okA || !okB {
						continue
					}
					v := b - a
					if v < 0 { // past midnight
						v += 86400
					}
					out[s[0]+"_"+s[1]] = append(out[s[0]+"_"+s[1]], v*1000)
				}
				if haveSetKey {
					out[PhaseSetKey] = append(out[PhaseSetKey], setKey)
				}
			}
			clear(at)
			cilium = false // the setkey time stays until the next create, which clears it (the bash bench's too)
		}
	}
	return out, sc.Err()
}
