package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestComposeStackAgentUpgrade upgrades the stack's agent as compose/README.md says: CILIUM_VERSION in
// .env from the leg's 1.19 to E2E_UPGRADE_TO (default matrix.UpgradeTo), then `docker compose up -d`. Compose
// recreates only the agent's container; the running containers keep their address and identity, still
// reach each other, and a container started afterwards is ready under its labels.
func TestComposeStackAgentUpgrade(t *testing.T) {
	bed.SkipUnlessBed(t)
	to := upgradeTo(t)
	leg := bed.MustLeg()
	keepAbsent(t, "/lib/modules")
	bed.DownAll(t)
	t.Cleanup(func() { bed.DownAll(t) })
	nd := bed.Up(t, 1, bed.WithPluginMode("stack"))
	s := nd.NewStack(t, bed.NewPKI(t), []string{nd.IP()}, nil)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s:\n%s", s.File, s.Logs(t, 60))
		}
	})
	nd.LoadStackImages(t, leg.Cilium, to)
	s.Up(t)

	net := "cilium-net"
	nd.Must(t, "network", "create", "--driver", "cilium", "--ipam-driver", "cilium", net)
	t.Cleanup(func() { nd.BestEffort(t, "network", "rm", net) }) // after the containers' removal
	nd.Run(t, "ug1", "-l", "name=ug1", "--net", net, bed.Image, "sh", "-c", server)
	nd.Run(t, "ug2", "-l", "name=ug2", "--net", net, bed.Image, "sleep", "100000")
	type state struct {
		addr string
		id   int64
	}
	read := func(name string) state {
		ep := nd.EndpointOf(t, name, net)
		return state{addr: bed.EndpointIPv4(ep).String(), id: bed.IdentityID(ep)}
	}
	before := map[string]state{"ug1": read("ug1"), "ug2": read("ug2")}
	bed.Eventually(t, 20*time.Second, "ug2 -> ug1 before the upgrade", func() error { return nd.TCP(t, "ug2", before["ug1"].addr) })
	plugin := nd.Must(t, "inspect", "-f", "{{.Id}}", "cilium-docker")
	agent := nd.Must(t, "inspect", "-f", "{{.Id}}", "cilium-agent")

	s.Set(t, "CILIUM_VERSION", to)
	s.Up(t)
	if got := nd.Must(t, "inspect", "-f", "{{.Config.Image}}", "cilium-agent"); got != "quay.io/cilium/cilium:v"+to {
		t.Fatalf("agent container image %q after the upgrade, want quay.io/cilium/cilium:v%s", got, to)
	}
	if got := nd.Must(t, "inspect", "-f", "{{.Id}}", "cilium-agent"); got == agent {
		t.Fatalf("the agent's container was not recreated")
	}
	if got := nd.Must(t, "inspect", "-f", "{{.Id}}", "cilium-docker"); got != plugin {
		t.Errorf("the plugin's container was recreated by the agent's upgrade")
	}
	bed.Eventually(t, 2*time.Minute, "the containers back under the upgraded agent, same address and identity", func() error {
		for name, b := range before {
			ep := nd.EndpointOf(t, name, net)
			if a := (state{addr: bed.EndpointIPv4(ep).String(), id: bed.IdentityID(ep)}); a != b || !bed.Built(ep) {
				return fmt.Errorf("%s: %+v (%s), want %+v ready", name, a, bed.State(ep), b)
			}
		}
		return nil
	})
	if v := nd.Must(t, "exec", "cilium-agent", "cilium-agent", "--version"); !strings.Contains(v, to) {
		t.Fatalf("agent version after the upgrade: %q, want %s", v, to)
	}
	bed.Eventually(t, 30*time.Second, "ug2 -> ug1 after the upgrade", func() error { return nd.TCP(t, "ug2", before["ug1"].addr) })
	nd.Run(t, "ug3", "-l", "name=ug3", "--net", net, bed.Image, "sleep", "100000")
	if ep := nd.EndpointOf(t, "ug3", net); !bed.Built(ep) {
		t.Fatalf("ug3 started after the upgrade: endpoint %s, want ready when docker run returns", bed.State(ep))
	}
}
