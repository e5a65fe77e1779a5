package hubble_test

import (
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/hubble"
	"github.com/cilium-docker/cilium-docker/policy"
)

var (
	eg1 = hubble.Peer{Namespace: "docker", Name: "eg1", IP: "10.77.0.5", Port: 38094,
		Labels: []string{"container:name=eg", "k8s:io.kubernetes.pod.namespace=docker", "reserved:ignored"}}
	web   = hubble.Peer{Namespace: "shop", Name: "web-1", IP: "10.77.0.6", Port: 80, Labels: []string{"container:name=web", "k8s:io.kubernetes.pod.namespace=shop"}}
	world = hubble.Peer{IP: "192.168.77.251", Port: 8080, Labels: []string{"reserved:world"}}
	host  = hubble.Peer{IP: "10.77.0.1", Port: 22, Labels: []string{"reserved:host"}}
)

// TestExplain: each kind of drop gets its reason, and a suggestion Cilium's parser accepts that
// selects exactly both sides and the port, or none when a deny rule dropped it.
func TestExplain(t *testing.T) {
	tests := []struct {
		name     string
		flow     hubble.Flow
		why      string
		want     []string // in the suggestion
		noSuggst bool
	}{
		{"egress to an address", hubble.Flow{Source: eg1, Destination: world, Protocol: "TCP", Verdict: "DROPPED", DropReason: "POLICY_DENIED", Direction: "egress"},
			"egress of docker/eg1: default deny: a policy selects docker/eg1 for egress", []string{`"container:name": "eg"`, "toCIDR: [192.168.77.251/32]", `port: "8080", protocol: TCP`, "name: allow-eg1-egress-192-168-77-251-8080"}, false},
		{"egress to a name", hubble.Flow{Source: eg1, Destination: world, Protocol: "UDP", Verdict: "DROPPED", DropReason: "POLICY_DENIED", Direction: "egress",
			DestinationNames: []string{"denied.test."}}, "default deny", []string{`{matchName: "denied.test"}`, `protocol: UDP`}, false},
		{"ingress from a container", hubble.Flow{Source: eg1, Destination: web, Protocol: "TCP", Verdict: "DROPPED", DropReason: "POLICY_DENIED", Direction: "ingress"},
			"ingress of shop/web-1: default deny", []string{`"container:name": "web"`, "fromEndpoints:", `"container:name": "eg"`, `port: "80"`}, false},
		{"egress to the host", hubble.Flow{Source: eg1, Destination: host, Protocol: "ICMPv4", Flags: "type 8", Verdict: "DROPPED", DropReason: "POLICY_DENIED", Direction: "egress"},
			"default deny", []string{"toEntities: [host]", "{family: IPv4, type: 8}"}, false},
		{"deny rule", hubble.Flow{Source: eg1, Destination: world, Protocol: "TCP", Verdict: "DROPPED", DropReason: "POLICY_DENY", Direction: "egress",
			Policies: []string{"CiliumClusterwideNetworkPolicy no-world"}}, "deny rule of CiliumClusterwideNetworkPolicy no-world; an allow rule cannot undo", nil, true},
		{"not a policy", hubble.Flow{Source: eg1, Destination: world, Verdict: "DROPPED", DropReason: "CT_NO_MAP_FOUND", Direction: "egress"},
			"not by a policy", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.flow.Explain()
			if e == nil || !strings.Contains(e.Why, tt.why) {
				t.Fatalf("Explain: %+v, want why containing %q", e, tt.why)
			}
			if tt.noSuggst != (e.Suggestion == "") {
				t.Fatalf("suggestion %q", e.Suggestion)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.Suggestion, w) {
					t.Errorf("suggestion lacks %q:\n%s", w, e.Suggestion)
				}
			}
			if strings.Contains(e.Suggestion, "reserved:") {
				t.Errorf("suggestion selects a reserved label:\n%s", e.Suggestion)
			}
			if e.Suggestion != "" {
				if _, err := policy.Check("suggestion", []byte(e.Suggestion), policy.DefaultCluster); err != nil {
					t.Errorf("Cilium's parser refuses the suggestion: %v\n%s", err, e.Suggestion)
				}
			}
		})
	}
	if (hubble.Flow{Verdict: "FORWARDED"}).Explain() != nil {
		t.Error("a forwarded flow explained")
	}
}
