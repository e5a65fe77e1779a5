package driver

import (
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

func TestChangeRequest(t *testing.T) {
	eid := endpoint.MustParseID(strings.Repeat("e", 64))
	nid := endpoint.MustParseNetworkID(strings.Repeat("a", 64))
	names := endpoint.NamesFor(eid)
	hostMAC := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	ctrMAC := net.HardwareAddr{0x02, 0x42, 0x0a, 0xc8, 0x05, 0x05}
	v4, v6 := netip.MustParseAddr("10.77.0.5"), netip.MustParseAddr("fd00::5")
	link := func(v4, v6 netip.Addr) *endpoint.Link {
		return &endpoint.Link{Names: names, HostIndex: 7, HostMAC: hostMAC, ContainerMAC: ctrMAC, MTU: 1450, NetworkID: nid, IPv4: v4, IPv6: v6}
	}
	tests := []struct {
		name string
		att  attachment
		want models.AddressPair
	}{
		{"IPv4 without expiration", attachment{Link: link(v4, netip.Addr{})}, models.AddressPair{IPv4: "10.77.0.5"}},
		{"IPv4 with expiration", attachment{Link: link(v4, netip.Addr{}), IPv4UUID: "u4"},
			models.AddressPair{IPv4: "10.77.0.5", IPv4ExpirationUUID: "u4", IPv4PoolName: "default"}},
		{"dual stack", attachment{Link: link(v4, v6), IPv4UUID: "u4", IPv6UUID: "u6"},
			models.AddressPair{IPv4: "10.77.0.5", IPv4ExpirationUUID: "u4", IPv4PoolName: "default",
				IPv6: "fd00::5", IPv6ExpirationUUID: "u6", IPv6PoolName: "default"}},
		{"IPv6 only", attachment{Link: link(netip.Addr{}, v6)}, models.AddressPair{IPv6: "fd00::5"}},
		{"UUID of an absent family ignored", attachment{Link: link(v4, netip.Addr{}), IPv6UUID: "u6"},
			models.AddressPair{IPv4: "10.77.0.5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.att
			a.EndpointID, a.NetworkID = eid, nid
			a.Container, a.Namespace = "web-1", "shop"
			a.Labels = []string{"container:app=web"}
			r := a.changeRequest()
			if *r.Addressing != tt.want {
				t.Errorf("addressing: got %+v, want %+v", *r.Addressing, tt.want)
			}
			for _, f := range []struct{ name, got, want string }{
				{"container-id", r.ContainerID, eid.String()},
				{"container-interface-name", r.ContainerInterfaceName, names.Container},
				{"k8s-namespace", r.K8sNamespace, "shop"},
				{"k8s-pod-name", r.K8sPodName, "web-1"},
				{"container-name (removed in 1.20)", r.ContainerName, ""},
				{"docker-endpoint-id (removed in 1.20)", r.DockerEndpointID, ""},
				{"docker-network-id (removed in 1.20)", r.DockerNetworkID, ""},
				{"interface-name", r.InterfaceName, names.Host},
				{"mac", r.Mac, "02:42:0a:c8:05:05"},
				{"host-mac", r.HostMac, "02:00:00:00:00:01"},
			} {
				if f.got != f.want {
					t.Errorf("%s: got %q, want %q", f.name, f.got, f.want)
				}
			}
			if r.InterfaceIndex != 7 {
				t.Errorf("interface-index: got %d, want 7", r.InterfaceIndex)
			}
			if len(r.Labels) != 1 || r.Labels[0] != "container:app=web" {
				t.Errorf("labels: got %q, want [container:app=web]", r.Labels)
			}
			if r.State == nil || *r.State != models.EndpointStateWaitingDashForDashIdentity {
				t.Errorf("state: got %v, want waiting-for-identity", r.State)
			}
			if !r.SyncBuildEndpoint {
				t.Error("sync-build-endpoint: got false, want true")
			}
			if r.DatapathConfiguration != nil {
				t.Errorf("datapath-configuration: got %+v, want none (external-ipam must stay false)", r.DatapathConfiguration)
			}
			if r.ID != 0 {
				t.Errorf("unexpected field: id %d", r.ID)
			}
		})
	}
}

// TestChangeRequestUnknownContainer is the request of a Join that could not learn the container: the
// attachment key all the same (container-id is the Docker endpoint ID), no name, no labels.
func TestChangeRequestUnknownContainer(t *testing.T) {
	eid := endpoint.MustParseID(strings.Repeat("e", 64))
	a := attachment{EndpointID: eid, NetworkID: endpoint.MustParseNetworkID(strings.Repeat("a", 64)), Namespace: "docker",
		Link: &endpoint.Link{Names: endpoint.NamesFor(eid), HostIndex: 3, IPv4: netip.MustParseAddr("10.77.0.6")}}
	b, err := json.Marshal(a.changeRequest())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// A namespace alone, without the container's name, is not sent.
	for _, k := range []string{"container-name", "docker-endpoint-id", "docker-network-id", "k8s-namespace",
		"k8s-pod-name", "labels", "datapath-configuration", "id"} {
		if v, ok := got[k]; ok {
			t.Errorf("request carries %q = %v, want it absent", k, v)
		}
	}
	for k, want := range map[string]any{
		"container-id": eid.String(), "container-interface-name": endpoint.NamesFor(eid).Container,
		"interface-name": endpoint.NamesFor(eid).Host, "interface-index": float64(3),
		"state": "waiting-for-identity", "sync-build-endpoint": true,
		"addressing": map[string]any{"ipv4": "10.77.0.6"},
	} {
		if gb, wb := jsonOf(got[k]), jsonOf(want); gb != wb {
			t.Errorf("%s: got %s, want %s", k, gb, wb)
		}
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
