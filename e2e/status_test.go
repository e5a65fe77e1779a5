package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// statusReport is the part of `cilium-docker status --json` the test reads.
type statusReport struct {
	Healthy    bool
	Checks     []struct{ Name, State, Detail, Hint string }
	Containers []struct {
		Name       string
		EndpointID int64 `json:"endpoint_id"`
		State      string
		Labels     []string
	}
}

func (r statusReport) check(name string) (state, detail string) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c.State, c.Detail
		}
	}
	return "", ""
}

// status runs `cilium-docker status` on the node and returns the text, the parsed --json form, the exit
// code of the text form, and how long the slower of the two took.
func status(t *testing.T, nd *bed.Node, extra ...string) (string, statusReport, int, time.Duration) {
	t.Helper()
	start := time.Now()
	extra = append([]string{"--metrics-address", "127.0.0.1:9962"}, extra...) // the bed's plugin serves it there
	text, _, rc := nd.Command(t, time.Minute, append([]string{"status"}, extra...)...)
	took := time.Since(start)
	start = time.Now()
	js, stderr, jrc := nd.Command(t, time.Minute, append([]string{"status", "--json"}, extra...)...)
	took = max(took, time.Since(start))
	var r statusReport
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("status --json: %v\n%s\n%s", err, js, stderr)
	}
	if (jrc == 0) != r.Healthy {
		t.Fatalf("status --json: exit %d with healthy %v", jrc, r.Healthy)
	}
	return text, r, rc, took
}

// TestStatus: `cilium-docker status` on a healthy node lists the containers with their endpoints and
// exits 0; a container whose endpoint is gone, an agent that is down or hung, and a Docker that is down
// each make it exit 1 within its deadline, saying what and with a hint, and it recovers with them.
func TestStatus(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cilium-net"
	nd.Network(t, net)
	nd.Run(t, "app1", "-l", "name=app1", "--net", net, bed.Image, "sleep", "100000")
	nd.Run(t, "app2", "-l", "name=app2", "--net", net, bed.Image, "sleep", "100000")

	t.Run("healthy node: exit 0, both containers with their endpoints", func(t *testing.T) {
		var text string
		var r statusReport
		bed.Eventually(t, 30*time.Second, "status healthy", func() error {
			var rc int
			text, r, rc, _ = status(t, nd)
			if rc != 0 || !r.Healthy {
				return fmt.Errorf("exit %d:\n%s", rc, text)
			}
			return nil
		})
		t.Logf("status:\n%s", text)
		for _, want := range []string{"Plugin socket:", "NetworkDriver, IpamDriver", "Cilium agent:", nd.CiliumVersion(),
			"Kvstore:", "Hubble:", "Docker:", "driver cilium registered", "Network " + net + ":", "IPAM cilium, 2 containers",
			"Plugin state:", "CONTAINER", "container:name=app1", "container:name=app2", "Healthy."} {
			if !strings.Contains(text, want) {
				t.Errorf("status lacks %q", want)
			}
		}
		if st, d := r.check("Reconciler"); st != "ok" || !strings.Contains(d, "passes, last") {
			t.Errorf("Reconciler: %s %q, want its last pass from the plugin's /metrics", st, d)
		}
		if st, d := r.check("Hubble"); st != "ok" {
			t.Errorf("Hubble: %s %s (the stack runs the agent with --enable-hubble)", st, d)
		}
		if st, d := r.check("Agent API limits"); st != "ok" || !strings.Contains(d, "endpoint-create 20/s, burst 40, 8 in parallel") {
			t.Errorf("Agent API limits: %s %q, want the stack's (compose/agent-config/api-rate-limit), read from the agent's process", st, d)
		}
		for _, c := range r.Containers {
			ep := nd.EndpointOf(t, c.Name, net)
			if c.EndpointID != ep.ID || c.State != "ready" || !bed.HasLabel(c.Labels, "container:name="+c.Name) {
				t.Errorf("container %s: status says endpoint %d %s %v, agent has %d %s", c.Name, c.EndpointID, c.State, c.Labels, ep.ID, bed.State(ep))
			}
		}
	})

	t.Run("a container whose endpoint is gone: exit 1, named, hint; docker restart heals", func(t *testing.T) {
		eid := nd.EndpointID(t, "app2", net)
		if _, err := nd.Agent.DeleteEndpoint(t.Context(), agent.AttachmentID(eid, bed.NamesOf(t, eid).Container)); err != nil {
			t.Fatal(err)
		}
		text, r, rc, _ := status(t, nd)
		st, detail := r.check("Container app2")
		if rc != 1 || st != "failure" || !strings.Contains(detail, "no endpoint") || !strings.Contains(text, "hint: docker restart app2") {
			t.Fatalf("exit %d, app2 %s %q:\n%s", rc, st, detail, text)
		}
		nd.Must(t, "restart", "-t", "1", "app2")
		bed.Eventually(t, 30*time.Second, "status healthy after the restart", func() error {
			if text, _, rc, _ := status(t, nd); rc != 0 {
				return fmt.Errorf("exit %d:\n%s", rc, text)
			}
			return nil
		})
	})

	t.Run("agent down: exit 1 at once, says so, Docker's side still shown", func(t *testing.T) {
		nd.Stop(t, bed.Agent)
		text, r, rc, took := status(t, nd)
		nd.Start(t, bed.Agent)
		st, detail := r.check("Cilium agent")
		if rc != 1 || st != "failure" || !strings.Contains(detail, "not reachable") || !strings.Contains(text, "hint: start cilium-agent") {
			t.Fatalf("exit %d, agent %s %q:\n%s", rc, st, detail, text)
		}
		if st, _ := r.check("Docker"); st != "ok" || len(r.Containers) != 2 {
			t.Errorf("Docker %s, %d containers with the agent down:\n%s", st, len(r.Containers), text)
		}
		if took > 10*time.Second {
			t.Errorf("status took %s with the agent down", took)
		}
	})

	t.Run("agent hung: exit 1 within --timeout", func(t *testing.T) {
		bed.Eventually(t, 60*time.Second, "agent back", func() error {
			if _, err := nd.Agent.Config(t.Context()); err != nil {
				return err
			}
			return nil
		})
		nd.Freeze(t, bed.Agent)
		text, r, rc, took := status(t, nd, "--timeout", "2s")
		nd.Thaw(t, bed.Agent)
		st, detail := r.check("Cilium agent")
		if rc != 1 || st != "failure" || !strings.Contains(detail, "in time") {
			t.Fatalf("exit %d, agent %s %q:\n%s", rc, st, detail, text)
		}
		if took > 8*time.Second { // two runs' process starts on a loaded machine, each bounded by 2 s
			t.Errorf("status took %s against a frozen agent with --timeout 2s", took)
		}
	})

	t.Run("Docker down: exit 1, says so, the agent's side still shown", func(t *testing.T) {
		nd.Stop(t, bed.Dockerd)
		text, r, rc, took := status(t, nd)
		nd.Start(t, bed.Dockerd)
		st, detail := r.check("Docker")
		if rc != 1 || st != "failure" || !strings.Contains(text, "hint: start dockerd") {
			t.Fatalf("exit %d, Docker %s %q:\n%s", rc, st, detail, text)
		}
		// read, whatever it says: a just thawed agent may report controllers that failed meanwhile
		if st, d := r.check("Cilium agent"); st == "failure" || !strings.Contains(d, nd.CiliumVersion()) {
			t.Errorf("agent %s %s with Docker down", st, d)
		}
		if took > 10*time.Second {
			t.Errorf("status took %s with Docker down", took)
		}
	})
}
