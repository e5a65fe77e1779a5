package e2e

import (
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/e2e/bed"
)

// TestNetworkRefusals (issue 9.6): networks the plugin cannot serve as asked are refused with what to
// do, and leave no network behind.
func TestNetworkRefusals(t *testing.T) {
	nd := bed.Up(t, 1)
	base := nd.LeakBase(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"ref-noipam", []string{"--driver", "cilium"}, "create the network with --ipam-driver cilium"},
		{"ref-internal", []string{"--driver", "cilium", "--ipam-driver", "cilium", "--internal"}, "--internal is not supported on a cilium network"},
		{"ref-opt", []string{"--driver", "cilium", "--ipam-driver", "cilium", "-o", "com.docker.network.driver.mtu=1400"},
			"driver option com.docker.network.driver.mtu is not supported"},
		{"ref-v6", []string{"--driver", "cilium", "--ipam-driver", "cilium", "--ipv6"}, "IPv6"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := nd.Docker(t, append(append([]string{"network", "create"}, tt.args...), tt.name)...)
			if err == nil {
				nd.BestEffort(t, "network", "rm", tt.name)
				t.Fatalf("network create %v: accepted, want refused", tt.args)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("network create %v: %s\nwant it to say %q", tt.args, out, tt.want)
			}
			if ls := nd.Must(t, "network", "ls", "-q", "-f", "name=^"+tt.name+"$"); ls != "" {
				t.Errorf("refused network %s exists: %s", tt.name, ls)
			}
		})
	}
	nd.AssertNoLeak(t, "", base, nil, nil)
}

// TestSecondCiliumNetwork (issue 9.3): a container on two cilium networks is refused with the reason,
// at start and at network connect; the running container keeps working on its first network.
func TestSecondCiliumNetwork(t *testing.T) {
	nd := bed.Up(t, 1)
	nd.Network(t, "two-a")
	nd.Network(t, "two-b")
	base := nd.LeakBase(t)
	const want = "one cilium network only"

	nd.Must(t, "create", "--pull", "never", "--init", "--name", "two-start", "--net", "two-a", bed.Image, "sleep", "100000")
	t.Cleanup(func() { nd.BestEffort(t, "rm", "-f", "two-start") })
	nd.Must(t, "network", "connect", "two-b", "two-start")
	if out, err := nd.Docker(t, "start", "two-start"); err == nil || !strings.Contains(out, want) {
		t.Errorf("start on two cilium networks: err %v: %s\nwant the refusal (%q)", err, out, want)
	}

	nd.Run(t, "two-run", "-l", "name=two-run", "--net", "two-a", bed.Image, "sleep", "100000")
	nd.Run(t, "two-peer", "--net", "two-a", bed.Image, "sleep", "100000")
	if out, err := nd.Docker(t, "network", "connect", "two-b", "two-run"); err == nil || !strings.Contains(out, want) {
		t.Errorf("network connect to a second cilium network: err %v: %s\nwant the refusal (%q)", err, out, want)
	}
	ip := nd.ContainerIP(t, "two-peer", "two-a").String()
	nd.Must(t, "exec", "two-run", "ping", "-c", "1", "-W", "2", ip)
	// Cilium 1.20 reports no endpoint's Docker network: count them. two-run and two-peer have one each.
	if n := len(nd.MustEndpointsOn(t, "")); n != 2 {
		t.Errorf("agent endpoints: %d, want 2 (the refused attachments made none)", n)
	}
	nd.BestEffort(t, "rm", "-f", "two-start", "two-run", "two-peer")
	nd.AssertNoLeak(t, "", base, nil, nil)
}
