package policy

import (
	"strings"
	"testing"
)

// l7Rule is plain with its port restricted by the given L7 rules.
func l7Rule(rules string) string {
	return strings.Replace(plain, `toPorts: [{ports: [{port: "8080", protocol: TCP}]}]`,
		`toPorts: [{ports: [{port: "8080", protocol: TCP}], rules: `+rules+`}]`, 1)
}

// TestCheckRefusesWhatAnAgentDrops: a rule that one supported agent drops or reads differently is
// refused, naming the field and the agent version; 1.19's parser (go.mod) accepts each of them, and the
// 1.20 agent ignores the L7 ones silently, which opens the port to all traffic.
func TestCheckRefusesWhatAnAgentDrops(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             []string
	}{
		{"kafka", "p.yaml", l7Rule(`{kafka: [{role: produce, topic: orders}]}`),
			[]string{"spec.ingress[0].toPorts[0].rules.kafka", "Cilium 1.20", "allow"}},
		{"kafka, key in another case", "p.yaml", l7Rule(`{Kafka: [{role: produce, topic: orders}]}`),
			[]string{"rules.kafka", "Cilium 1.20"}},
		{"l7proto", "p.yaml", l7Rule(`{l7proto: binarymemcache, l7: [{command: get}]}`),
			[]string{"spec.ingress[0].toPorts[0].rules.l7proto", "Cilium 1.20"}},
		{"l7 alone", "p.yaml", l7Rule(`{l7: [{command: get}]}`),
			[]string{"rules.l7", "Cilium 1.20"}},
		{"kafka in an egress rule of specs", "p.yaml", `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: two}
specs:
- endpointSelector: {matchLabels: {name: a}}
  ingress: [{fromEntities: [cluster]}]
- endpointSelector: {matchLabels: {name: b}}
  egress:
  - toEndpoints: [{matchLabels: {name: kafka}}]
    toPorts: [{ports: [{port: "9092", protocol: TCP}], rules: {kafka: [{role: consume, topic: orders}]}}]
`, []string{"specs[1].egress[0].toPorts[0].rules.kafka", "Cilium 1.20"}},
		{"kafka in a classic rule", "r.json", `[{"endpointSelector":{"matchLabels":{"name":"app2"}},"ingress":[{"fromEndpoints":[{"matchLabels":{"name":"app1"}}],` +
			`"toPorts":[{"ports":[{"port":"9092","protocol":"TCP"}],"rules":{"kafka":[{"role":"produce","topic":"orders"}]}}]}]}]`,
			[]string{"rule 1", "rules.kafka", "Cilium 1.20"}},
		{"toGroups", "p.yaml", strings.Replace(plain, "ingress:\n  - fromEndpoints: [{matchLabels: {name: app1}}]\n    toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n",
			"egress:\n  - toGroups: [{aws: {securityGroupsIds: [sg-1]}}]\n", 1),
			[]string{"spec.egress[0].toGroups", "Cilium 1.19", "Cilium 1.20"}},
		{"fromGroups in a deny rule", "p.yaml", strings.Replace(plain, "ingress:\n  - fromEndpoints: [{matchLabels: {name: app1}}]\n    toPorts: [{ports: [{port: \"8080\", protocol: TCP}]}]\n",
			"ingressDeny:\n  - fromGroups: [{aws: {securityGroupsIds: [sg-1]}}]\n", 1),
			[]string{"spec.ingressDeny[0].fromGroups", "Cilium 1.19", "Cilium 1.20"}},
		{"serverNames wildcard inside", "p.yaml", strings.Replace(plain, `toPorts: [{ports: [{port: "8080", protocol: TCP}]}]`,
			`toPorts: [{ports: [{port: "443", protocol: TCP}], serverNames: ["*cilium.io"]}]`, 1),
			[]string{"spec.ingress[0].toPorts[0].serverNames[0]", "Cilium 1.19", "Cilium 1.20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Check(tt.file, []byte(tt.data), "local")
			if err == nil {
				t.Fatalf("Check accepted it: %+v", docs)
			}
			for _, w := range tt.want {
				if !IsRefusal(err) || !strings.Contains(err.Error(), w) {
					t.Errorf("Check: got %v (refusal %v), want a refusal containing %q", err, IsRefusal(err), w)
				}
			}
		})
	}
}

// TestCheckStoredRefusesWhatAnAgentDrops: the sync's check refuses the same.
func TestCheckStoredRefusesWhatAnAgentDrops(t *testing.T) {
	err := CheckStored("app2-from-app1", l7Rule(`{kafka: [{role: produce, topic: orders}]}`), "local")
	if !IsRefusal(err) || !strings.Contains(err.Error(), "rules.kafka") || !strings.Contains(err.Error(), "Cilium 1.20") {
		t.Fatalf("CheckStored: got %v, want a refusal naming rules.kafka and Cilium 1.20", err)
	}
}

// TestCheckAcceptsWhatBothAgentsRead: the L7 rules and server names both supported agents read alike.
func TestCheckAcceptsWhatBothAgentsRead(t *testing.T) {
	for name, data := range map[string]string{
		"http":             l7Rule(`{http: [{method: GET, path: /}]}`),
		"leading wildcard": strings.Replace(plain, `toPorts: [{ports: [{port: "8080", protocol: TCP}]}]`, `toPorts: [{ports: [{port: "443", protocol: TCP}], serverNames: ["*.cilium.io", "**.cilium.io", "cilium.io"]}]`, 1),
	} {
		if _, err := Check("p.yaml", []byte(data), "local"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
