package hubble

import (
	"testing"

	flowpb "github.com/cilium/cilium/api/v1/flow"
)

// TestPolicyName: a policy is named by Hubble's Kubernetes fields, else by the labels the agent's
// directory watcher gives a policy it read from a file (how the plugin's policies reach the agent; the
// real agent's deny-rule drop in e2e TestToFQDNs), else not at all.
func TestPolicyName(t *testing.T) {
	tests := []struct {
		p    *flowpb.Policy
		want string
	}{
		{&flowpb.Policy{Name: "web", Namespace: "shop", Kind: "CiliumNetworkPolicy"}, "CiliumNetworkPolicy shop/web"},
		{&flowpb.Policy{Name: "no-world", Kind: "CiliumClusterwideNetworkPolicy"}, "CiliumClusterwideNetworkPolicy no-world"},
		{&flowpb.Policy{Labels: []string{"directory:filename=cilium-docker.ccnp.fq1-deny.yaml",
			"directory:policy-derived-from=CiliumClusterwideNetworkPolicy"}}, "CiliumClusterwideNetworkPolicy in file cilium-docker.ccnp.fq1-deny.yaml"},
		{&flowpb.Policy{Labels: []string{"directory:filename=cilium-docker-local.cnp-shop.web.yaml"}}, "in file cilium-docker-local.cnp-shop.web.yaml"},
		{&flowpb.Policy{Labels: []string{"unspec:foo=bar"}}, ""},
		{&flowpb.Policy{}, ""},
	}
	for _, tt := range tests {
		if got := policyName(tt.p); got != tt.want {
			t.Errorf("policyName(%v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}
