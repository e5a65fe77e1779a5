package bed

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/hubble"
)

// maxNodes bounds the search for the node whose agent dropped a connection.
const maxNodes = 4

// bedNodes returns nd and the bed's other nodes that are up: the agent that enforces a policy is the
// subject's (ingress) or the client's (egress), which may be another node than the one a check runs on.
func (nd *Node) bedNodes() []*Node {
	nodes := []*Node{nd}
	for n := 1; n <= maxNodes; n++ {
		if n == nd.N {
			continue
		}
		st, err := state(n)
		if err != nil {
			continue // not up
		}
		nodes = append(nodes, &Node{N: n, Leg: nd.Leg, env: st.EnvMap()})
	}
	return nodes
}

// policyDropSince reports why no agent of the bed lists a policy drop of container from's connection to
// addr:8080 since start: a failed nc alone could be any fault (a dead server, a broken route).
func (nd *Node) policyDropSince(t testing.TB, from, addr string, start time.Time) error {
	t.Helper()
	fromAddrs := nd.containerAddrs(t, from)
	var why []string
	for _, on := range nd.bedNodes() {
		err := on.policyDrop(t, from, fromAddrs, addr, time.Since(start))
		if err == nil {
			return nil
		}
		why = append(why, err.Error())
	}
	return fmt.Errorf("%s -> %s:8080 failed, but no agent lists a policy drop of it: %s", from, addr, strings.Join(why, "; "))
}

// containerAddrs returns the addresses of container name on every network it is attached to.
func (nd *Node) containerAddrs(t testing.TB, name string) map[netip.Addr]bool {
	t.Helper()
	out, err := nd.Docker(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.GlobalIPv6Address}} {{end}}", name)
	if err != nil {
		t.Fatalf("inspect %s: %v: %q", name, err, out)
	}
	addrs := map[netip.Addr]bool{}
	for _, f := range strings.Fields(out) {
		if a, err := netip.ParseAddr(f); err == nil {
			addrs[a.Unmap()] = true
		}
	}
	if len(addrs) == 0 {
		t.Fatalf("container %s has no address: %q", name, out)
	}
	return addrs
}

// policyDrop reports why nd's Hubble (the agent that enforces the policy on addr) lists no flow of the
// last d from container from (by name, or by one of its addresses when the flow crossed nodes) to
// addr:8080 that the datapath dropped, for a policy reason when the flow carries a reason.
func (nd *Node) policyDrop(t testing.TB, from string, fromAddrs map[netip.Addr]bool, addr string, d time.Duration) error {
	t.Helper()
	to, err := netip.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("subject address %q: %w", addr, err)
	}
	secs := int(d/time.Second) + 1
	out, stderr, rc := nd.Command(t, 30*time.Second, "flows", "--json", "--verdict", "DROPPED", "--since", strconv.Itoa(secs)+"s")
	if rc != 0 {
		return fmt.Errorf("node %d: cilium-docker flows: exit %d: %s", nd.N, rc, stderr)
	}
	var seen []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var f hubble.Flow
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			return fmt.Errorf("node %d: flows line %q: %w", nd.N, l, err)
		}
		src, _ := netip.ParseAddr(f.Source.IP)
		dst, _ := netip.ParseAddr(f.Destination.IP)
		if (f.Source.Name != from && !fromAddrs[src.Unmap()]) || dst.Unmap() != to.Unmap() || f.Destination.Port != 8080 {
			continue
		}
		if f.Verdict == "DROPPED" && (f.DropReason == "" || strings.HasPrefix(f.DropReason, "POLICY")) {
			t.Logf("node %d's Hubble: %s", nd.N, f.Line())
			return nil
		}
		seen = append(seen, f.Line())
	}
	return fmt.Errorf("node %d's Hubble lists no policy drop of %s -> %s:8080 in the last %ds (drops between them: %q)", nd.N, from, addr, secs, seen)
}
