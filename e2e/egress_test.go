package e2e

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// egressKeys is where the policies live in etcd and the node's directory: the generated ones are the
// cilium-docker-egress-* of either.
const egressKeys = "cilium-docker/policy/v1/policies/cilium-docker-egress-"

// TestEgressLabel: a container labelled io.cilium.egress=allowed.egress.test:8080/tcp reaches allowed.egress.test on
// 8080 and nothing else: not denied.egress.test, not allowed.egress.test's address on 8081, not an address it never
// resolved; the agent's DNS proxy answers a query for a name off the list REFUSED. `flows --explain`
// names the drop and suggests a policy that, applied, lets exactly that flow pass. A replica with the
// same labels shares the one generated policy, which goes with the last of them, from etcd and the
// policy directory. A label with a bad port fails `docker run` with the reason and stores nothing.
// Subtests: after a plugin restart the removal of a labelled container still removes its policy; a
// container whose labels Docker cannot tell at Join gets its policy from the label sync before its
// stamped labels, and is held to the list.
//
// The names are the test's own: the agent's DNS cache is shared by every endpoint of the node, so a
// name this test resolves would already select its address in TestToFQDNs's policy "before any lookup".
func TestEgressLabel(t *testing.T) {
	nd := bed.Up(t, 1)
	net := "cilium-eg"
	nd.Network(t, net)
	const denied, never = "192.168.77.250", "192.168.77.251"
	nd.PeerAddAddress(t, denied+"/24")
	nd.PeerAddAddress(t, never+"/24")
	nd.PeerProcess(t, "/dev/null", "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--user=root",
		"--listen-address="+bed.PeerAddr, "--bind-interfaces", "--pid-file=",
		"--address=/allowed.egress.test/"+bed.PeerAddr, "--address=/denied.egress.test/"+denied)
	nd.PeerProcess(t, "/dev/null", "busybox", "nc", "-ll", "-p", "8080", "-e", "/bin/echo", "pong")
	nd.PeerProcess(t, "/dev/null", "busybox", "nc", "-ll", "-p", "8081", "-e", "/bin/echo", "pong")
	tcp := func(name, addr, port string) error {
		out, err := nd.Docker(t, "exec", name, "sh", "-c", "echo ping | nc -w 2 "+addr+" "+port)
		if err != nil {
			return fmt.Errorf("nc %s -> %s:%s: %w %q", name, addr, port, err, out)
		}
		if !strings.Contains(out, "pong") {
			return fmt.Errorf("nc %s -> %s:%s: no pong: %q", name, addr, port, out)
		}
		return nil
	}
	generated := func() (etcd, dir []string) {
		out := strings.TrimSpace(nd.Etcdctl(t, "get", "--prefix", "--keys-only", egressKeys))
		if out != "" {
			etcd = strings.Fields(out)
		}
		files, _ := filepath.Glob(filepath.Join(nd.PolicyDir(), "cilium-docker.ccnp."+strings.TrimPrefix(egressKeys, "cilium-docker/policy/v1/policies/")+"*"))
		return etcd, files
	}

	// A bad port: the start fails saying why, and no policy is stored.
	out, err := nd.Docker(t, "run", "-d", "--pull", "never", "--init", "--name", "eg-bad", "-l", "io.cilium.egress=allowed.egress.test:99999",
		"--net", net, bed.Image, "sleep", "100000")
	t.Cleanup(func() { nd.BestEffort(t, "rm", "-f", "eg-bad") })
	if err == nil || !strings.Contains(out, "io.cilium.egress") || !strings.Contains(out, `port "99999"`) {
		t.Fatalf("docker run with a bad io.cilium.egress: err %v, output %q: want it refused naming the port", err, out)
	}
	if etcd, dir := generated(); len(etcd)+len(dir) != 0 {
		t.Fatalf("a refused label left policies: etcd %v, directory %v", etcd, dir)
	}

	label := "io.cilium.egress=allowed.egress.test:8080/tcp"
	for _, name := range []string{"eg1", "eg2"} {
		nd.Run(t, name, "-l", "name=eg", "-l", label, "--dns", bed.PeerAddr, "--net", net, bed.Image, "sleep", "100000")
	}
	etcd, dir := generated()
	if len(etcd) != 1 || len(dir) != 1 {
		t.Fatalf("generated policies after two replicas started: etcd %v, directory %v; want one of each", etcd, dir)
	}
	t.Logf("generated policy %s:\n%s", etcd[0], nd.Etcdctl(t, "get", "--print-value-only", etcd[0]))

	// The policy is in the agent's directory before the endpoint exists; the first DNS rule on an agent
	// makes it compile the endpoint's program with the proxy redirect (10 to 30 s on this machine).
	started := time.Now()
	bed.Eventually(t, 90*time.Second, "eg1 resolves allowed.egress.test and reaches it on 8080", func() error {
		out, _ := nd.Docker(t, "exec", "eg1", "nslookup", "-type=a", "allowed.egress.test")
		if !strings.Contains(out, "Address: "+bed.PeerAddr) && !strings.Contains(out, "Address 1: "+bed.PeerAddr) {
			return fmt.Errorf("nslookup allowed.egress.test: %q", out)
		}
		return tcp("eg1", bed.PeerAddr, "8080")
	})
	t.Logf("start -> allowed.egress.test reached in %.1f s", time.Since(started).Seconds())
	if err := tcp("eg1", bed.PeerAddr, "8081"); err == nil {
		t.Error("eg1 reaches allowed.egress.test's address on 8081, which the label does not list")
	}
	if err := nd.Blocked(t, "eg1", never); err != nil {
		t.Errorf("an address eg1 never resolved: %v", err)
	}
	// A name off the list: the agent's DNS proxy answers REFUSED (its default, --tofqdns-dns-reject-response-code).
	direct, _ := nd.Docker(t, "exec", "eg1", "nslookup", "-type=a", "denied.egress.test", bed.PeerAddr)
	if !strings.Contains(direct, "REFUSED") || strings.Contains(direct, denied) {
		t.Errorf("nslookup denied.egress.test %s from eg1: %q, want REFUSED", bed.PeerAddr, direct)
	}
	embedded, _ := nd.Docker(t, "exec", "eg1", "nslookup", "-type=a", "denied.egress.test")
	t.Logf("off the list, asked directly: %q; through Docker's embedded DNS: %q", direct, embedded)
	if strings.Contains(embedded, denied) {
		t.Errorf("eg1 resolved denied.egress.test through Docker's embedded DNS: %q", embedded)
	}
	if err := nd.Blocked(t, "eg1", denied); err != nil {
		t.Errorf("denied.egress.test's address: %v", err)
	}
	if err := nd.Blocked(t, "eg2", never); err != nil {
		t.Errorf("replica eg2 is not held to the list: %v", err)
	}

	explained(t, nd, "eg1", never, tcp)

	nd.Must(t, "rm", "-f", "eg1")
	if etcd, dir := generated(); len(etcd) != 1 || len(dir) != 1 {
		t.Fatalf("the policy went while replica eg2 runs: etcd %v, directory %v", etcd, dir)
	}
	nd.Must(t, "rm", "-f", "eg2")
	gone := func(t *testing.T, what string) {
		t.Helper()
		bed.Eventually(t, 30*time.Second, "the generated policy is gone "+what, func() error {
			if etcd, dir := generated(); len(etcd)+len(dir) != 0 {
				return fmt.Errorf("etcd %v, directory %v", etcd, dir)
			}
			return nil
		})
	}
	gone(t, "with the last container")

	// The plugin restarts while a labelled container runs: the new process derives the count from the
	// agent's endpoints, and the container's removal removes the policy.
	t.Run("plugin restart", func(t *testing.T) {
		nd.Run(t, "eg-r", "-l", "name=eg-r", "-l", label, "--net", net, bed.Image, "sleep", "100000")
		if etcd, dir := generated(); len(etcd) != 1 || len(dir) != 1 {
			t.Fatalf("generated policies: etcd %v, directory %v; want one of each", etcd, dir)
		}
		logStart := nd.LogSize(t, bed.Plugin)
		nd.Restart(t, bed.Plugin)
		// The new process derived eg-r's count and removed nothing: the name it derives from the
		// agent's labels is the one Join made, or its sweep would have removed a live policy.
		bed.Eventually(t, 30*time.Second, "the restarted plugin derived its counts", func() error {
			if logged := nd.LogSince(t, bed.Plugin, logStart); !strings.Contains(logged, `counts derived from the agent's endpoints" removed=0`) {
				return errors.New("no restore logged yet")
			}
			return nil
		})
		if etcd, dir := generated(); len(etcd) != 1 || len(dir) != 1 {
			t.Fatalf("generated policies after the restart while eg-r runs: etcd %v, directory %v; want one of each", etcd, dir)
		}
		nd.Must(t, "rm", "-f", "eg-r")
		gone(t, "with the container removed after a plugin restart")
	})

	// Docker cannot tell the labels at Join (dockerd restarts a --restart always container while it
	// boots, as in TestLabelsAppliedLater): the endpoint starts without labels (reserved:init), and the
	// label sync stores the policy before it gives the endpoint the stamped labels.
	t.Run("labels unknown at Join", func(t *testing.T) {
		nd.Run(t, "eg-late", "--restart", "always", "-l", "name=eg-late", "-l", label, "--net", net, bed.Image, "sleep", "100000")
		oldEID := nd.EndpointID(t, "eg-late", net)
		nid := nd.NetworkID(t, net)
		eid := rejoinedWithoutLabels(t, nd, "eg-late", net, oldEID)
		bed.Eventually(t, 30*time.Second, "eg-late's endpoint stamped, under its stored policy", func() error {
			eps, err := nd.EndpointsOn(nid)
			if err != nil {
				return err
			}
			ep := bed.ByDockerEndpoint(eps, eid)
			if ep == nil {
				return fmt.Errorf("no agent endpoint for docker endpoint %s", eid)
			}
			lbls := bed.IdentityLabels(ep)
			if !slices.ContainsFunc(lbls, func(l string) bool { return strings.HasPrefix(l, "container:cilium-docker/egress=") }) {
				return fmt.Errorf("identity labels %v", lbls)
			}
			etcd, dir := generated()
			if len(etcd) != 1 || len(dir) != 1 {
				return fmt.Errorf("stamped (%v), but generated policies: etcd %v, directory %v", lbls, etcd, dir)
			}
			// eg-late's own policy, not one an earlier step left behind.
			if doc := nd.Etcdctl(t, "get", "--print-value-only", etcd[0]); !strings.Contains(doc, "eg-late") {
				return fmt.Errorf("the generated policy %s does not select eg-late:\n%s", etcd[0], doc)
			}
			return nil
		})
		if err := nd.Blocked(t, "eg-late", never); err != nil {
			t.Errorf("eg-late, labelled by the sync: %v", err)
		}
		nd.Must(t, "rm", "-f", "eg-late")
		gone(t, "with the container labelled by the sync")
	})
}

// explained: `flows --explain` names the drop of from's connection to addr:8080 and suggests a
// policy; applied, it lets exactly that flow pass: addr on 8081 stays dropped.
func explained(t *testing.T, nd *bed.Node, from, addr string, tcp func(name, addr, port string) error) {
	t.Helper()
	var why, suggestion string
	bed.Eventually(t, 10*time.Second, "the drop to "+addr+":8080 explained in flows", func() error {
		for _, f := range flows(t, nd, from, "--verdict", "DROPPED", "--since", "2m", "--explain") {
			if f.Source.Name == from && f.Destination.IP == addr && f.Destination.Port == 8080 && f.Explanation != nil {
				why, suggestion = f.Explanation.Why, f.Explanation.Suggestion
				return nil
			}
		}
		return errors.New("no explained drop")
	})
	t.Logf("why: %s\nsuggestion:\n%s", why, suggestion)
	if !strings.Contains(why, "egress of") || !strings.Contains(why, "/"+from+":") || !strings.Contains(why, "default deny") ||
		!strings.Contains(suggestion, "toCIDR: ["+addr+"/32]") {
		t.Fatalf("explanation of %s -> %s:8080: %q, suggestion:\n%s", from, addr, why, suggestion)
	}
	name := ""
	for _, l := range strings.Split(suggestion, "\n") {
		if n, ok := strings.CutPrefix(l, "  name: "); ok {
			name = n
		}
	}
	nd.MustPolicy(t, "apply", bed.PolicyFile(t, "suggestion.yaml", suggestion))
	t.Cleanup(func() { nd.MustPolicy(t, "delete", name) })
	bed.Eventually(t, 30*time.Second, from+" reaches "+addr+":8080 under the suggested policy", func() error { return tcp(from, addr, "8080") })
	if err := tcp(from, addr, "8081"); err == nil {
		t.Errorf("the suggested policy lets %s reach %s:8081 too", from, addr)
	}
}
