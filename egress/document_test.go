package egress

import (
	"strings"
	"testing"
)

func TestDocument(t *testing.T) {
	es, err := Parse("pypi.org,*.pythonhosted.org:443,api.github.com:443,dns.example:53/udp")
	if err != nil {
		t.Fatal(err)
	}
	id := []string{"container:name=agent", "k8s:io.kubernetes.pod.namespace=default"}
	got := Document("cilium-docker-egress-x", `of "agent"`, id, es)
	want := `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: cilium-docker-egress-x
spec:
  description: "of \"agent\""
  endpointSelector:
    matchLabels:
      "container:name": "agent"
      "k8s:io.kubernetes.pod.namespace": "default"
  egress:
  - toEntities: [all]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns:
        - {matchName: "pypi.org"}
        - {matchPattern: "*.pythonhosted.org"}
        - {matchName: "api.github.com"}
        - {matchName: "dns.example"}
  - toFQDNs:
    - {matchName: "pypi.org"}
  - toFQDNs:
    - {matchName: "dns.example"}
    toPorts:
    - ports: [{port: "53", protocol: UDP}]
  - toFQDNs:
    - {matchPattern: "*.pythonhosted.org"}
    - {matchName: "api.github.com"}
    toPorts:
    - ports: [{port: "443", protocol: ANY}]
`
	if got != want {
		t.Errorf("Document:\n%s\nwant:\n%s", got, want)
	}
}

func TestName(t *testing.T) {
	a := Name("n1", []string{"container:name=a"})
	if !strings.HasPrefix(a, NodePrefix("n1")) || len(a) != len(NamePrefix)+9+20 || !strings.HasPrefix(NodePrefix("n1"), NamePrefix) {
		t.Errorf("Name: %q", a)
	}
	if strings.HasPrefix(Name("n2", []string{"container:name=a"}), NodePrefix("n1")) {
		t.Error("a policy of node n2 starts with node n1's prefix")
	}
	// The order of the labels does not matter: the plugin derives the name from the labels the agent
	// reports after a restart.
	if Name("n1", []string{"container:x=1", "container:name=a"}) != Name("n1", []string{"container:name=a", "container:x=1"}) {
		t.Error("Name depends on the order of the identity labels")
	}
	for _, other := range []string{Name("n2", []string{"container:name=a"}), Name("n1", []string{"container:name=b"}),
		Name("n1", []string{"container:name=a", "x"}), Name("n1container:name=a", nil)} {
		if other == a {
			t.Errorf("Name collides: %q", a)
		}
	}
}
