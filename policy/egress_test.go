package policy_test

import (
	"testing"

	"github.com/cilium-docker/cilium-docker/egress"
	"github.com/cilium-docker/cilium-docker/policy"
)

// TestEgressDocumentChecks: the allow-list policy the plugin generates is one Cilium's parser and the
// agent's rules accept, for every kind of entry.
func TestEgressDocumentChecks(t *testing.T) {
	es, err := egress.Parse("pypi.org,*.pythonhosted.org:443,**.corp.example:8080/tcp,dns.example:53/udp,s.example:9/sctp")
	if err != nil {
		t.Fatal(err)
	}
	id := []string{"container:cilium-docker/egress=0123456789abcdef", "container:name=agent",
		"k8s:io.cilium.k8s.policy.cluster=default", "k8s:io.kubernetes.pod.namespace=default"}
	name := egress.Name("n1", id)
	docs, err := policy.Check("egress", []byte(egress.Document(name, "d", id, es)), policy.DefaultCluster)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Key() != name || len(docs[0].Legacy) != 0 {
		t.Fatalf("documents: %+v", docs)
	}
}
