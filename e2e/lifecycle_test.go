package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// TestCompose brings up a two-service project with Debian's docker-compose on a cilium network.
func TestCompose(t *testing.T) {
	nd := bed.Up(t, 1)
	dir := t.TempDir()
	project := `version: "2.4"
services:
  web:
    image: ` + bed.Image + `
    command: ["sleep", "100000"]
    init: true
    scale: 2
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
	if out, err := compose("up", "-d"); err != nil {
		t.Fatalf("docker-compose up: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := compose("down", "--timeout", "1"); err != nil {
			t.Errorf("docker-compose down: %v\n%s", err, out)
		}
	})
	ids := map[string][]int64{}
	for _, svc := range []string{"web", "db"} {
		names := strings.Fields(nd.Must(t, "ps", "--filter", "label=com.docker.compose.service="+svc, "--format", "{{.Names}}"))
		for _, name := range names {
			ep := nd.EndpointOf(t, name, "cdtest_default")
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
	if len(ids["web"]) != 2 || ids["web"][0] != ids["web"][1] || ids["web"][0] == 0 {
		t.Fatalf("web replicas' identities: got %v, want two equal non-zero IDs", ids["web"])
	}
	if len(ids["db"]) != 1 || ids["db"][0] == ids["web"][0] {
		t.Fatalf("db identity %v must differ from web's %v", ids["db"], ids["web"])
	}
}
