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
	if !strings.HasPrefix(a, NamePrefix) || len(a) != len(NamePrefix)+20 {
		t.Errorf("Name: %q", a)
	}
	for _, other := range []string{Name("n2", []string{"container:name=a"}), Name("n1", []string{"container:name=b"}),
		Name("n1", []string{"container:name=a", "x"}), Name("n1container:name=a", nil)} {
		if other == a {
			t.Errorf("Name collides: %q", a)
		}
	}
}
