package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestStaticIPAndCleanup covers docker run --ip and proves that removing every container and the
// network leaves no agent endpoint, no address and no link behind.
func TestStaticIPAndCleanup(t *testing.T) {
	nd := bed.Up(t, 1)
	fam := nd.AgentRange(t)
	net := "cilium-static"
	nd.Must(t, "network", "create", "--driver", "cilium", "--ipam-driver", "cilium", "--subnet", fam.Range.String(), net)
	want := fam.Range.Addr().Next().Next().Next().Next().Next() // x.y.0.5
	if want == fam.Router {
		want = want.Next()
	}

	t.Run("network inspect shows the agent's pool", func(t *testing.T) {
		out := nd.Must(t, "network", "inspect", "-f", "{{.Driver}} {{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}}{{end}}", net)
		if want := fmt.Sprintf("cilium cilium %s", fam.Range); out != want {
			t.Fatalf("network inspect: got %q, want %q", out, want)
		}
	})

	nd.Run(t, "fixed1", "--net", net, "--ip", want.String(), bed.Image, "sleep", "100000")
	t.Run("docker run --ip gets exactly that address", func(t *testing.T) {
		if got := nd.ContainerIP(t, "fixed1", net); got != want {
			t.Fatalf("address: got %s, want %s", got, want)
		}
	})

	t.Run("a second container asking for the same address gets a clear error", func(t *testing.T) {
		out, err := nd.Docker(t, "run", "-d", "--pull", "never", "--name", "fixed2", "--net", net, "--ip", want.String(), bed.Image, "sleep", "100000")
		t.Cleanup(func() { nd.BestEffort(t, "rm", "-f", "fixed2") })
		if err == nil || !strings.Contains(out, "already in use") {
			t.Fatalf("second --ip %s: err=%v out=%q, want an error saying already in use", want, err, out)
		}
	})

	t.Run("more containers, then remove everything", func(t *testing.T) {
		for i := range 3 {
			nd.Run(t, fmt.Sprintf("churn%d", i), "-l", "name=churn", "--net", net, bed.Image, "sleep", "100000")
		}
		out := nd.Must(t, "ps", "-aq")
		if out != "" {
			nd.Must(t, append([]string{"rm", "-f"}, strings.Fields(out)...)...)
		}
		nd.Must(t, "network", "rm", net)
	})

	t.Run("no endpoint, address or link is left", func(t *testing.T) {
		nd.AssertClean(t)
	})
}

// TestCompose brings up a two-service project with docker compose (v2) on a cilium network, web
// scaled to three (up --scale web=3): each web replica has a ready agent endpoint, all three under one
// identity (no per-replica label in it) that is not db's, and each answers db, another container on the
// network, at its own address.
func TestCompose(t *testing.T) {
	nd := bed.Up(t, 1)
	dir := t.TempDir()
	project := `services:
  web:
    image: ` + bed.Image + `
    command: ["sh", "-c", "` + server + `"]
    init: true
    labels: {tier: web}
  db:
    image: ` + bed.Image + `
    command: ["sleep", "100000"]
    init: true
networks:
  default:
    driver: cilium
    ipam: {driver: cilium}
`
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(project), 0o644); err != nil {
		t.Fatal(err)
	}
	compose := func(args ...string) (string, error) {
		return nd.Compose(t, append([]string{"-p", "cdtest", "-f", filepath.Join(dir, "docker-compose.yml")}, args...)...)
	}
	if out, err := compose("up", "-d", "--scale", "web=3"); err != nil {
		t.Fatalf("docker compose up --scale web=3: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := compose("down", "--timeout", "1"); err != nil {
			t.Errorf("docker compose down: %v\n%s", err, out)
		}
	})
	const net = "cdtest_default"
	names := map[string][]string{}
	for _, svc := range []string{"web", "db"} {
		names[svc] = strings.Fields(nd.Must(t, "ps", "--filter", "label=com.docker.compose.project=cdtest",
			"--filter", "label=com.docker.compose.service="+svc, "--format", "{{.Names}}"))
	}
	if len(names["web"]) != 3 || len(names["db"]) != 1 {
		t.Fatalf("running containers: web %v, db %v; want 3 and 1", names["web"], names["db"])
	}
	nid := nd.NetworkID(t, net)

	// The agent's endpoint list: every replica's endpoint ready, all under one non-zero identity.
	ids := map[string][]int64{}
	bed.Eventually(t, 30*time.Second, "web's three endpoints ready under one identity", func() error {
		eps, err := nd.EndpointsOn(nid)
		if err != nil {
			return fmt.Errorf("list agent endpoints: %w", err)
		}
		ids = map[string][]int64{}
		for _, svc := range []string{"web", "db"} {
			for _, name := range names[svc] {
				ep := bed.ByDockerEndpoint(eps, nd.EndpointID(t, name, net))
				if ep == nil {
					return fmt.Errorf("%s: no agent endpoint in the list of %d", name, len(eps))
				}
				if s := bed.State(ep); s != "ready" {
					return fmt.Errorf("%s: endpoint %d is %s, want ready", name, ep.ID, s)
				}
				labels := bed.IdentityLabels(ep)
				if !bed.HasLabel(labels, "container:com.docker.compose.service="+svc) {
					t.Fatalf("%s identity labels %v lack container:com.docker.compose.service=%s", name, labels, svc)
				}
				if bed.HasPrefix(labels, "container:com.docker.compose.container-number") || bed.HasPrefix(labels, "container:com.docker.compose.config-hash") {
					t.Fatalf("%s identity carries a per-replica label: %v", name, labels)
				}
				ids[svc] = append(ids[svc], bed.IdentityID(ep))
			}
		}
		return nil
	})
	if w := ids["web"]; len(w) != 3 || w[0] == 0 || w[1] != w[0] || w[2] != w[0] {
		t.Fatalf("web replicas' identities: got %v, want three equal non-zero IDs", w)
	}
	if ids["db"][0] == ids["web"][0] {
		t.Fatalf("db identity %v must differ from web's %v", ids["db"], ids["web"])
	}
	t.Logf("web %v: identity %d; db %v: identity %d", names["web"], ids["web"][0], names["db"], ids["db"][0])

	// Each replica answers at its own address (distinct addresses: no two replicas share one).
	seen := map[string]string{}
	for _, name := range names["web"] {
		addr := nd.ContainerIP(t, name, net).String()
		if other, ok := seen[addr]; ok {
			t.Fatalf("%s and %s share the address %s", name, other, addr)
		}
		seen[addr] = name
		bed.Eventually(t, 20*time.Second, names["db"][0]+" reaches "+name+" at "+addr, func() error {
			return nd.TCP(t, names["db"][0], addr)
		})
	}
}
