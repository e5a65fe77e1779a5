package bed

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/ipam"
)

// linkLine matches a line of `ip -o link show`: "7: lxc0123@if6: <...".
var linkLine = regexp.MustCompile(`^\d+: ([^:@ ]+)[@:]`)

// Links returns the names of the node's links.
func (nd *Node) Links(t testing.TB) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, l := range strings.Split(nd.Exec(t, "ip", "-o", "link", "show"), "\n") {
		if m := linkLine.FindStringSubmatch(l); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

// NewLinks returns the lxc*/tmp* links in now that were not in before.
func NewLinks(before, now map[string]bool) []string {
	var out []string
	for l := range now {
		if (strings.HasPrefix(l, "lxc") || strings.HasPrefix(l, "tmp")) && !before[l] {
			out = append(out, l)
		}
	}
	return out
}

// NewOwned returns the allocations in now owned by this plugin, or restored by the agent for an
// endpoint (owner "… [restored]"), that were not in before.
func NewOwned(before, now map[string]string) []string {
	var out []string
	for ip, owner := range now {
		if _, ok := before[ip]; ok {
			continue
		}
		if strings.Contains(owner, ipam.Owner) || strings.Contains(owner, "[restored]") {
			out = append(out, ip+"="+owner)
		}
	}
	return out
}

// Leak is what the node had before a test: leaks are what it has more afterwards, so that a test does
// not blame itself for what another one left.
type Leak struct {
	Allocs map[string]string
	Links  map[string]bool
}

// LeakBase records the node's allocations and links before a test.
func (nd *Node) LeakBase(t testing.TB) Leak {
	t.Helper()
	return Leak{Allocs: nd.Allocations(t), Links: nd.Links(t)}
}

// AssertNoLeak checks, after every container of network nid was removed, that no agent endpoint is
// left on it, that none of ips is still allocated and no new address is held by the plugin, and that
// neither the links of eids nor any other new lxc/tmp link is left.
func (nd *Node) AssertNoLeak(t testing.TB, nid string, base Leak, ips []netip.Addr, eids []string) {
	t.Helper()
	if eps := nd.MustEndpointsOn(t, nid); len(eps) != 0 {
		t.Fatalf("leg %s: agent still has %d endpoints on the network", nd.Leg, len(eps))
	}
	// healthz IPAM data is cached for about 5 s: poll past that.
	Eventually(t, 20*time.Second, "no address left allocated", func() error {
		allocs := nd.Allocations(t)
		var left []string
		for _, ip := range ips {
			if owner, ok := allocs[ip.String()]; ok {
				left = append(left, ip.String()+"="+owner)
			}
		}
		left = append(left, NewOwned(base.Allocs, allocs)...)
		if len(left) > 0 {
			return fmt.Errorf("allocations left: %v", left)
		}
		return nil
	})
	// The plugin deletes veth pairs just after DeleteEndpoint answered (its reaper): poll briefly.
	Eventually(t, linkGrace, "no link left", func() error {
		links := nd.Links(t)
		for _, eid := range eids {
			n := NamesOf(t, eid)
			if links[n.Host] || links[n.Container] {
				return fmt.Errorf("link of endpoint %s left: %s/%s", eid, n.Host, n.Container)
			}
		}
		if extra := NewLinks(base.Links, links); len(extra) > 0 {
			return fmt.Errorf("links left: %v", extra)
		}
		return nil
	})
}

// linkGrace bounds how long a removed container's veth pair may outlive `docker rm`: the plugin's
// reaper deletes it right after DeleteEndpoint answered.
const linkGrace = 5 * time.Second

// AssertLinksGone checks that the links of eids are gone, or go within linkGrace.
func (nd *Node) AssertLinksGone(t testing.TB, eids ...string) {
	t.Helper()
	Eventually(t, linkGrace, "the endpoints' links gone", func() error {
		links := nd.Links(t)
		for _, eid := range eids {
			if n := NamesOf(t, eid); links[n.Host] || links[n.Container] {
				return fmt.Errorf("link %s of endpoint %s left", n.Host, eid)
			}
		}
		return nil
	})
}

// AssertNoNewLinks checks that no lxc/tmp link beyond base is left, or that they go within linkGrace.
func (nd *Node) AssertNoNewLinks(t testing.TB, base map[string]bool) {
	t.Helper()
	Eventually(t, linkGrace, "no new link left", func() error {
		if extra := NewLinks(base, nd.Links(t)); len(extra) > 0 {
			return fmt.Errorf("links left: %v", extra)
		}
		return nil
	})
}

// AssertClean checks that the node has no container endpoint, no address owned by the plugin and no
// plugin link left.
func (nd *Node) AssertClean(t testing.TB) {
	t.Helper()
	if eps := nd.OurEndpoints(t); len(eps) != 0 {
		t.Fatalf("leg %s: agent still has %d container endpoints", nd.Leg, len(eps))
	}
	// healthz IPAM data is cached for about 5 s: poll past that.
	Eventually(t, 20*time.Second, "no address owned by the plugin", func() error {
		var left []string
		for ip, owner := range nd.Allocations(t) {
			if strings.Contains(owner, ipam.Owner) || strings.Contains(owner, "docker") {
				left = append(left, ip+"="+owner)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("allocations left: %v", left)
		}
		return nil
	})
	Eventually(t, linkGrace, "no plugin link left", func() error {
		for _, l := range strings.Split(nd.Exec(t, "ip", "-o", "link", "show"), "\n") {
			if strings.Contains(l, ": lxc") && !strings.Contains(l, "lxc_health") || strings.Contains(l, ": tmp") {
				return fmt.Errorf("link left behind: %s", l)
			}
		}
		return nil
	})
}

// StartPeers starts the walkthrough's app2 (answers "pong" on TCP 8080) and app3 on net, proves that
// app1 reaches app2 by ping and TCP, and returns app2's address.
func (nd *Node) StartPeers(t *testing.T, net string) string {
	t.Helper()
	nd.Run(t, "app2", "-l", "name=app2", "--net", net, Image, "sh", "-c",
		"while true; do echo pong | nc -l -p 8080; done")
	nd.Run(t, "app3", "-l", "name=app3", "--net", net, Image, "sleep", "100000")
	app2 := nd.ContainerIP(t, "app2", net).String()
	t.Run("app1 reaches app2 by ping and TCP", func(t *testing.T) {
		nd.Must(t, "exec", "app1", "ping", "-c", "1", "-W", "2", app2)
		Eventually(t, 10*time.Second, "tcp app1 -> app2", func() error { return nd.TCP(t, "app1", app2) })
	})
	return app2
}

// Enforce drops policy into dir as file and proves it from src's containers: blocked loses its access
// to addr:8080 (Blocked: the attempt fails and an agent lists it DROPPED for a policy reason), admitted
// keeps it; removing the file gives blocked its access back.
func Enforce(t *testing.T, src *Node, dir, file, policy, blocked, admitted, addr string) {
	t.Helper()
	EnforceWithin(t, 20*time.Second, src, dir, file, policy, blocked, admitted, addr)
}

// EnforceWithin is Enforce with d for the policy to take effect: the first policy on an endpoint
// rebuilds its datapath, which an agent with IPv6 on compiles for both families.
func EnforceWithin(t *testing.T, d time.Duration, src *Node, dir, file, policy, blocked, admitted, addr string) {
	t.Helper()
	WriteAtomic(t, dir, file, policy)
	Eventually(t, d, "policy blocks "+blocked, func() error { return src.Blocked(t, blocked, addr) })
	Eventually(t, d, "policy admits "+admitted, func() error { return src.TCP(t, admitted, addr) })
	if err := os.Remove(filepath.Join(dir, file)); err != nil {
		t.Fatal(err)
	}
	Eventually(t, d, blocked+" reaches "+addr+" after the policy is removed", func() error {
		return src.TCP(t, blocked, addr)
	})
}

// WriteAtomic writes a policy file beside dir and renames it in, as the agent needs.
func WriteAtomic(t testing.TB, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(dir), "."+name)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("remove policy %s: %v", name, err)
		}
	})
}

// PolicyOnlyFrom is a CiliumClusterwideNetworkPolicy admitting ingress to name=subject only from
// name=peer: a plain label policy, as for Kubernetes pods. Cilium adds a namespace (Exists) and a
// cluster (= the agent's) requirement to every peer selector; the plugin stamps both labels on every
// container, so the selector matches containers as written.
func PolicyOnlyFrom(subject, peer string) string {
	return fmt.Sprintf(`apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: %[1]s-from-%[2]s-only}
spec:
  endpointSelector: {matchLabels: {name: %[1]s}}
  ingress:
  - fromEndpoints:
    - matchLabels: {name: %[2]s}
`, subject, peer)
}

// BackUnder reports why the containers of ids are not (yet) running with a ready agent endpoint under
// their label and their identity from before, with no other endpoint left.
func (nd *Node) BackUnder(t testing.TB, nid, net string, ids map[string]int64) error {
	eps, err := nd.EndpointsOn(nid)
	if err != nil {
		return err
	}
	for name, id := range ids {
		out, err := nd.Docker(t, "inspect", "-f", fmt.Sprintf("{{.State.Running}} {{(index .NetworkSettings.Networks %q).EndpointID}}", net), name)
		if err != nil {
			return fmt.Errorf("%s: inspect: %w: %q", name, err, out)
		}
		running, eid, _ := strings.Cut(out, " ")
		if running != "true" || eid == "" {
			return fmt.Errorf("%s: inspect %q", name, out)
		}
		ep := ByDockerEndpoint(eps, eid)
		if ep == nil {
			return fmt.Errorf("%s: no agent endpoint for docker endpoint %s", name, eid)
		}
		if State(ep) != "ready" || !HasLabel(IdentityLabels(ep), "container:name="+name) {
			return fmt.Errorf("%s: state %q, labels %v", name, State(ep), IdentityLabels(ep))
		}
		if IdentityID(ep) != id {
			return fmt.Errorf("%s: identity %d, was %d", name, IdentityID(ep), id)
		}
	}
	if len(eps) != len(ids) {
		return fmt.Errorf("agent lists %d endpoints, want %d (the old ones gone)", len(eps), len(ids))
	}
	return nil
}
