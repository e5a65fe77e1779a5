package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// addressWindowWait outlasts the agent's expiration timer of an allocated address (10 min, a constant
// of both agent lines) by a margin.
const addressWindowWait = 11 * time.Minute

// TestAddressWindowAcrossPluginRestart is the restart window between Docker's RequestAddress and Join:
// the plugin that allocated the address (under the agent's 10-minute expiration timer, whose UUID
// only that process knew) restarts before the Join. The new process must stop that timer, or the agent
// frees the address under the running container 10 minutes later and hands it to the next one. The
// test posts the calls as dockerd does, restarts the plugin in between, and then watches the address
// for longer than the timer. It takes 11 minutes: scripts/e2e.sh runs it on a bed of its own,
// alongside the legs (the reconciler is off on that bed: no Docker container stands behind these
// calls, and the reconciler would rightly remove what they made).
func TestAddressWindowAcrossPluginRestart(t *testing.T) {
	nd := bed.Up(t, 1, bed.WithPluginArgs("--reconcile-interval=0"))
	net := "cd-window"
	nd.Network(t, net)
	nid := nd.NetworkID(t, net)
	c := servertest.Client(nd.PluginSocket())
	post := func(method string, body any) map[string]any {
		t.Helper()
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		code, out := servertest.PostJSON(t, c, method, b)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %v", method, code, out)
		}
		return out
	}
	pool := post("IpamDriver.RequestPool", map[string]any{"AddressSpace": "CiliumLocal", "Pool": "", "V6": false})
	poolID, _ := pool["PoolID"].(string)
	out := post("IpamDriver.RequestAddress", map[string]any{"PoolID": poolID, "Address": "", "Options": map[string]string{}})
	cidr, _ := out["Address"].(string)
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		t.Fatalf("RequestAddress answered %v", out)
	}
	ip := p.Addr()
	t.Logf("allocated %s under the agent's expiration timer", ip)

	nd.Restart(t, bed.Plugin) // the window: the UUID of the timer is gone with the process
	c = servertest.Client(nd.PluginSocket())

	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		t.Fatal(err)
	}
	eid := hex.EncodeToString(raw[:])
	post("NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid,
		"Interface": map[string]string{"Address": cidr}, "Options": map[string]any{}})
	t.Cleanup(func() {
		for _, call := range []struct {
			method string
			body   any
		}{
			{"NetworkDriver.Leave", map[string]any{"NetworkID": nid, "EndpointID": eid}},
			{"NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid}},
			{"IpamDriver.ReleaseAddress", map[string]any{"PoolID": poolID, "Address": ip.String()}},
		} {
			b, _ := json.Marshal(call.body)
			if code, out := servertest.PostJSON(t, servertest.Client(nd.PluginSocket()), call.method, b); code != http.StatusOK {
				t.Errorf("cleanup %s: %d %v", call.method, code, out)
			}
		}
	})
	post("NetworkDriver.Join", map[string]any{"NetworkID": nid, "EndpointID": eid, "SandboxKey": "/var/run/docker/netns/window",
		"Options": map[string]any{}})
	holds := func() error {
		eps, err := nd.EndpointsOn(nid)
		if err != nil {
			return err
		}
		ep := bed.ByDockerEndpoint(eps, eid)
		if ep == nil {
			return fmt.Errorf("no agent endpoint for docker endpoint %s", eid[:12])
		}
		if got := bed.EndpointIPv4(ep); got != ip {
			return fmt.Errorf("endpoint address %s, want %s", got, ip)
		}
		if owner, ok := nd.Allocations(t)[ip.String()]; !ok {
			return fmt.Errorf("address %s no longer allocated at the agent (the expiration timer freed it)", ip)
		} else if owner == "" {
			return fmt.Errorf("address %s allocated with no owner", ip)
		}
		return nil
	}
	if err := holds(); err != nil {
		t.Fatalf("right after the Join: %v", err)
	}
	// Poll through the whole timer: the address must stay the endpoint's at every look.
	start := time.Now()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for time.Since(start) < addressWindowWait {
		<-tick.C
		if err := holds(); err != nil {
			t.Fatalf("%s after the Join: %v", time.Since(start).Round(time.Second), err)
		}
	}
	t.Logf("%s still the endpoint's %s after the Join, past the agent's 10-minute timer", ip, time.Since(start).Round(time.Second))
}
