package bed

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// routeLoopbackOut makes a network namespace send packets to 127.0.0.1 out through its route to $1
// (default: its default gateway), as a container or a host that means harm does: its own loopback
// routes gone, route_localnet on the outgoing device so that the kernel lets such a packet leave, and
// accept_local so that it takes an answer from 127.0.0.1. (A container needs CAP_NET_ADMIN for this;
// with Docker's default CAP_NET_RAW a packet socket sends and reads the same packets.)
const routeLoopbackOut = `set -e
via=$1
[ -n "$via" ] || via=$(ip route show default | sed -n 's/^default via \([^ ]*\).*/\1/p')
dev=$(ip -o route get "$via" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
sysctl -qw net.ipv4.conf.all.route_localnet=1 "net.ipv4.conf.$dev.route_localnet=1" "net.ipv4.conf.$dev.accept_local=1"
ip route del local 127.0.0.0/8 dev lo table local
ip route del local 127.0.0.1 dev lo table local
ip route add 127.0.0.1/32 via "$via" dev "$dev"`

// routeLoopbackBack undoes routeLoopbackOut: lo down and up brings the kernel's loopback routes back.
const routeLoopbackBack = `dev=$(ip -o route get "$1" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
ip route del 127.0.0.1/32 via "$1"
ip link set lo down && ip link set lo up
sysctl -qw net.ipv4.conf.all.route_localnet=0 "net.ipv4.conf.$dev.route_localnet=0" "net.ipv4.conf.$dev.accept_local=0"`

// RouteContainerLoopbackOut makes the container name send its packets to 127.0.0.1 to its gateway
// (the node), from outside it (nsenter into its network namespace as root): the container gets no
// capability for it.
func (nd *Node) RouteContainerLoopbackOut(t testing.TB, name string) {
	t.Helper()
	pid := nd.Must(t, "inspect", "-f", "{{.State.Pid}}", name)
	if _, err := strconv.Atoi(pid); err != nil || pid == "0" {
		t.Fatalf("container %s: pid %q", name, pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", "-t", pid, "-n", "--", "sh", "-c", routeLoopbackOut, "sh", "").CombinedOutput()
	if err != nil {
		t.Fatalf("container %s: route 127.0.0.1 out: %v: %s", name, err, out)
	}
}

// RoutePeerLoopbackTo makes the bed's outside peer send its packets to 127.0.0.1 to addr (a node on its
// segment) until the test ends, as a host of the node's LAN that means harm can.
func RoutePeerLoopbackTo(t testing.TB, addr string) {
	t.Helper()
	if _, err := TryPeer(20*time.Second, "sh", "-c", routeLoopbackOut, "sh", addr); err != nil {
		t.Fatalf("peer: route 127.0.0.1 to %s: %v", addr, err)
	}
	t.Cleanup(func() {
		if _, err := TryPeer(20*time.Second, "sh", "-c", routeLoopbackBack, "sh", addr); err != nil {
			t.Errorf("peer: loopback routes back: %v", err)
		}
	})
}

var guardCounterRx = regexp.MustCompile(`counter packets (\d+) bytes \d+ drop`)

// LoopbackGuardDrops returns the packets the plugin's loopback guard (chain guard of table ip
// cilium-docker) has dropped on the node, as `nft` lists them.
func (nd *Node) LoopbackGuardDrops(t testing.TB) (int, error) {
	t.Helper()
	out, err := nd.TryExec(20*time.Second, "nft", "list", "chain", "ip", "cilium-docker", "guard")
	if err != nil {
		return 0, fmt.Errorf("nft list chain ip cilium-docker guard: %w", err)
	}
	m := guardCounterRx.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "127.0.0.0/8") {
		return 0, fmt.Errorf("no guard rule in %q", out)
	}
	return strconv.Atoi(m[1])
}
