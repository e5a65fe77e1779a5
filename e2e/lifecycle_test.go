package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStaticIPAndCleanup covers docker run --ip and proves that removing every container and the
// network leaves no agent endpoint, no address and no link behind.
func TestStaticIPAndCleanup(t *testing.T) {
	nd := upNode(t, 1)
	fam := nd.agentRange(t)
	net := "cilium-static"
	nd.must(t, "network", "create", "--driver", "cilium", "--ipam-driver", "cilium", "--subnet", fam.Range.String(), net)
	want := fam.Range.Addr().Next().Next().Next().Next().Next() // x.y.0.5
	if want == fam.Router {
		want = want.Next()
	}

	t.Run("network inspect shows the agent's pool", func(t *testing.T) {
		out := nd.must(t, "network", "inspect", "-f", "{{.Driver}} {{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}}{{end}}", net)
		if want := fmt.Sprintf("cilium cilium %s", fam.Range); out != want {
			t.Fatalf("network inspect: got %q, want %q", out, want)
		}
	})

	nd.run(t, "fixed1", "--net", net, "--ip", want.String(), image, "sleep", "100000")
	t.Run("docker run --ip gets exactly that address", func(t *testing.T) {
		if got := nd.containerIP(t, "fixed1", net); got != want {
			t.Fatalf("address: got %s, want %s", got, want)
		}
	})

	t.Run("a second container asking for the same address gets a clear error", func(t *testing.T) {
		out, err := nd.docker(t, "run", "-d", "--pull", "never", "--name", "fixed2", "--net", net, "--ip", want.String(), image, "sleep", "100000")
		t.Cleanup(func() { nd.bestEffort(t, "rm", "-f", "fixed2") })
		if err == nil || !strings.Contains(out, "already in use") {
			t.Fatalf("second --ip %s: err=%v out=%q, want an error saying already in use", want, err, out)
		}
	})

	t.Run("more containers, then remove everything", func(t *testing.T) {
		for i := range 3 {
			nd.run(t, fmt.Sprintf("churn%d", i), "-l", "name=churn", "--net", net, image, "sleep", "100000")
		}
		out := nd.must(t, "ps", "-aq")
		if out != "" {
			nd.must(t, append([]string{"rm", "-f"}, strings.Fields(out)...)...)
		}
		nd.must(t, "network", "rm", net)
	})

	t.Run("no endpoint, address or link is left", func(t *testing.T) {
		nd.assertClean(t)
	})
}

// TestCompose brings up a two-service project with Debian's docker-compose on a cilium network.
func TestCompose(t *testing.T) {
	nd := upNode(t, 1)
	dir := t.TempDir()
	project := `version: "2.4"
services:
  web:
    image: ` + image + `
    command: ["sleep", "100000"]
    init: true
    scale: 2
    labels: {tier: web}
  db:
    image: ` + image + `
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
		cmd := exec.Command("docker-compose", append([]string{"-p", "cdtest", "-f", filepath.Join(dir, "docker-compose.yml")}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+nd.env["DOCKER_HOST"])
		out, err := cmd.CombinedOutput()
		return string(out), err
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
		names := strings.Fields(nd.must(t, "ps", "--filter", "label=com.docker.compose.service="+svc, "--format", "{{.Names}}"))
		for _, name := range names {
			ep := nd.endpointOf(t, name, "cdtest_default")
			labels := identityLabels(ep)
			if !hasLabel(labels, "container:com.docker.compose.service="+svc) {
				t.Fatalf("%s identity labels %v lack container:com.docker.compose.service=%s", name, labels, svc)
			}
			if hasPrefix(labels, "container:com.docker.compose.container-number") || hasPrefix(labels, "container:com.docker.compose.config-hash") {
				t.Fatalf("%s identity carries a per-replica label: %v", name, labels)
			}
			ids[svc] = append(ids[svc], identityID(ep))
		}
	}
	if len(ids["web"]) != 2 || ids["web"][0] != ids["web"][1] || ids["web"][0] == 0 {
		t.Fatalf("web replicas' identities: got %v, want two equal non-zero IDs", ids["web"])
	}
	if len(ids["db"]) != 1 || ids["db"][0] == ids["web"][0] {
		t.Fatalf("db identity %v must differ from web's %v", ids["db"], ids["web"])
	}
}
