package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// pingSummary matches busybox ping's summary: "100 packets transmitted, 100 packets received, 0% packet loss".
var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// TestFirstPacketsNotLost (issue 19.17): a new container on a cilium network pings a running one every
// 10 ms from its first instant (the ping is its command), and not one packet is lost: the endpoint is
// built before the container's process runs. Five containers in a row, so that a pass by luck is unlikely.
func TestFirstPacketsNotLost(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cilium-first"
	nd.Network(t, net)
	nd.Run(t, "first-target", "--net", net, bed.Image, "sleep", "100000")
	target := nd.ContainerIP(t, "first-target", net).String()

	const count = 100 // 1 s at 10 ms: covers the container's start
	for i := range 5 {
		name := fmt.Sprintf("first-ping%d", i)
		t.Cleanup(func() { nd.BestEffort(t, "rm", "-f", name) })
		// Attached: docker run returns when ping has ended, with its output. busybox ping exits non-zero
		// when a reply is missing; the summary says how many.
		out, err := nd.Docker(t, "run", "--pull", "never", "--init", "--name", name, "--net", net, bed.Image,
			"ping", "-i", "0.01", "-c", strconv.Itoa(count), "-W", "2", target)
		m := pingSummary.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%s: no ping summary (err %v):\n%s", name, err, out)
		}
		sent, _ := strconv.Atoi(m[1])
		got, _ := strconv.Atoi(m[2])
		t.Logf("%s: %s", name, m[0])
		if sent != count || got != sent {
			t.Errorf("%s: %d packets transmitted, %d received, want %d and %d (err %v):\n%s",
				name, sent, got, count, count, err, lastLines(out, 4))
		}
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
