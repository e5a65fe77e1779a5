package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/ipam"
)

// enforce drops policy into dir as file and proves it from src's containers: blocked loses its access
// to addr:8080, admitted keeps it; removing the file gives blocked its access back.
func enforce(t *testing.T, src *node, dir, file, policy, blocked, admitted, addr string) {
	t.Helper()
	writeAtomic(t, dir, file, policy)
	eventually(t, 20*time.Second, "policy blocks "+blocked, func() error {
		if tcp(src, t, blocked, addr) == nil {
			return fmt.Errorf("%s still reaches %s", blocked, addr)
		}
		return nil
	})
	eventually(t, 20*time.Second, "policy admits "+admitted, func() error { return tcp(src, t, admitted, addr) })
	if err := os.Remove(filepath.Join(dir, file)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, blocked+" reaches "+addr+" after the policy is removed", func() error {
		return tcp(src, t, blocked, addr)
	})
}

// assertClean checks that the node has no container endpoint, no address owned by the plugin and no
// plugin link left.
func (nd *node) assertClean(t testing.TB) {
	t.Helper()
	if eps := nd.ourEndpoints(t); len(eps) != 0 {
		t.Fatalf("agent still has %d container endpoints", len(eps))
	}
	// healthz IPAM data is cached for about 5 s: poll past that.
	eventually(t, 20*time.Second, "no address owned by the plugin", func() error {
		var left []string
		for ip, owner := range nd.allocations(t) {
			if strings.Contains(owner, ipam.Owner) || strings.Contains(owner, "docker") {
				left = append(left, ip+"="+owner)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("allocations left: %v", left)
		}
		return nil
	})
	for _, l := range strings.Split(nd.inNode(t, "ip", "-o", "link", "show"), "\n") {
		if strings.Contains(l, ": lxc") && !strings.Contains(l, "lxc_health") || strings.Contains(l, ": tmp") {
			t.Fatalf("link left behind: %s", l)
		}
	}
}

// startPeers starts the walkthrough's app2 (answers "pong" on TCP 8080) and app3 on net, proves that
// app1 reaches app2 by ping and TCP, and returns app2's address.
func (nd *node) startPeers(t *testing.T, net string) string {
	t.Helper()
	nd.run(t, "app2", "-l", "name=app2", "--net", net, image, "sh", "-c",
		"while true; do echo pong | nc -l -p 8080; done")
	nd.run(t, "app3", "-l", "name=app3", "--net", net, image, "sleep", "100000")
	app2 := nd.containerIP(t, "app2", net).String()
	t.Run("app1 reaches app2 by ping and TCP", func(t *testing.T) {
		nd.must(t, "exec", "app1", "ping", "-c", "1", "-W", "2", app2)
		eventually(t, 10*time.Second, "tcp app1 -> app2", func() error { return tcp(nd, t, "app1", app2) })
	})
	return app2
}
