package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// flowLine is the part of one `cilium-docker flows --json` line the test reads.
type flowLine struct {
	Source, Destination struct {
		Namespace, Name, IP string
		Port                uint32
	}
	Verdict     string
	DropReason  string `json:"drop_reason"`
	Explanation *struct{ Why, Suggestion string }
}

// flows runs `cilium-docker flows ARGS --json` on the node and returns the flows.
func flows(t *testing.T, nd *bed.Node, args ...string) []flowLine {
	t.Helper()
	out, stderr, rc := nd.Command(t, time.Minute, append([]string{"flows", "--json"}, args...)...)
	if rc != 0 {
		t.Fatalf("flows %v: exit %d: %s", args, rc, stderr)
	}
	var fl []flowLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var f flowLine
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("flows %v: line %q: %v", args, l, err)
		}
		fl = append(fl, f)
	}
	return fl
}

func hasFlow(fl []flowLine, src, dst, verdict string) bool {
	for _, f := range fl {
		if f.Source.Name == src && f.Destination.Name == dst && f.Verdict == verdict {
			return true
		}
	}
	return false
}

// TestFlows: with the walkthrough's policy in force (app2 admits only app3), `flows app2 --verdict
// DROPPED` shows app1's blocked attempt by name within a few seconds, and `--verdict FORWARDED` app3's
// admitted one; both sides are named namespace/name, and the text form says why the drop happened.
func TestFlows(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cilium-net"
	nd.Network(t, net)
	nd.Run(t, "app1", "-l", "name=app1", "--net", net, bed.Image, "sleep", "100000")
	app2 := nd.StartPeers(t, net)
	bed.WriteAtomic(t, nd.PolicyDir(), "app2-from-app3-only.yaml", bed.PolicyOnlyFrom("app2", "app3"))
	bed.Eventually(t, 20*time.Second, "policy blocks app1", func() error {
		if nd.TCP(t, "app1", app2) == nil {
			return fmt.Errorf("app1 still reaches %s", app2)
		}
		return nil
	})

	t.Run("app1's blocked attempt shows as DROPPED by name within seconds", func(t *testing.T) {
		attempt := time.Now()
		done := make(chan struct{})
		go func() { _ = nd.TCP(t, "app1", app2); close(done) }() // blocked: nc waits 2 s, the drop is at once
		defer func() { <-done }()
		var seen time.Duration
		bed.Eventually(t, 5*time.Second, "the drop in flows", func() error {
			fl := flows(t, nd, "app2", "--verdict", "DROPPED", "--since", "30s")
			if !hasFlow(fl, "app1", "app2", "DROPPED") {
				return fmt.Errorf("no app1 -> app2 drop in %+v", fl)
			}
			seen = time.Since(attempt)
			return nil
		})
		t.Logf("app1's drop listed %s after the attempt started", seen.Round(10*time.Millisecond))
		out, _, _ := nd.Command(t, time.Minute, "flows", "app2", "--verdict", "DROPPED", "--last", "1")
		if !strings.Contains(out, "docker/app1:") || !strings.Contains(out, "-> docker/app2:8080") || !strings.Contains(out, "DROPPED (POLICY_DENIED)") {
			t.Errorf("text form of the drop: %q", out)
		}
	})

	t.Run("app3's admitted connection shows as FORWARDED", func(t *testing.T) {
		if err := nd.TCP(t, "app3", app2); err != nil {
			t.Fatal(err)
		}
		bed.Eventually(t, 5*time.Second, "the forwarded flow in flows", func() error {
			fl := flows(t, nd, "app2", "--verdict", "FORWARDED", "--since", "30s")
			if !hasFlow(fl, "app3", "app2", "FORWARDED") {
				return fmt.Errorf("no app3 -> app2 forwarded flow in %d flows", len(fl))
			}
			for _, f := range fl {
				if f.Verdict != "FORWARDED" || (f.Source.Name != "app2" && f.Destination.Name != "app2") {
					return fmt.Errorf("flow outside the query: %+v", f)
				}
			}
			return nil
		})
	})

	t.Run("an unknown verdict is refused", func(t *testing.T) {
		if _, stderr, rc := nd.Command(t, time.Minute, "flows", "--verdict", "maybe"); rc == 0 || !strings.Contains(stderr, "FORWARDED, DROPPED") {
			t.Errorf("--verdict maybe: exit %d, %q", rc, stderr)
		}
	})
}
