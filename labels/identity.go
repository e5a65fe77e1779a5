package labels

import (
	"slices"
	"strings"
)

// The Kubernetes identity labels the plugin stamps on every container endpoint, so that policies
// written for Kubernetes select containers as they are: Cilium adds a requirement on the namespace to
// every peer selector of a CiliumClusterwideNetworkPolicy (Exists) or a namespaced
// CiliumNetworkPolicy (= its namespace), and on the cluster (= the agent's --cluster-name, unless
// --policy-default-local-cluster is off), and the cluster entity selects endpoints by the cluster label
// (pkg/k8s/apis/cilium.io/utils/utils.go, pkg/policy/api/entity.go). Only the plugin sets them: a
// container label with either key is refused like every io.kubernetes and io.cilium key (checkLabel).
const (
	K8sSource    = "k8s"
	NamespaceKey = "io.kubernetes.pod.namespace"
	ClusterKey   = "io.cilium.k8s.policy.cluster"
)

// Identity returns the container's identity labels: Convert's (of its labels in and its image's),
// plus, when the policy stamps Kubernetes identity labels (K8sIdentity),
// k8s:io.kubernetes.pod.namespace=<Namespace> (of the same labels: an image's label sets it only when
// ImageLabels admits it) and, when cluster is a valid label value,
// k8s:io.cilium.k8s.policy.cluster=<cluster>, and for a container with an allow-list of its own
// (Egress), container:cilium-docker/egress=<hash of the list>. cluster is the agent's cluster name. The labels are
// sorted as the agent sorts them.
func (p Policy) Identity(in, image map[string]string, cluster string) (out []string, dropped []Dropped) {
	out, dropped = p.Convert(in, image)
	if v, ok, _ := p.Egress(in, image); ok {
		out = append(out, egressStamp(v))
		slices.Sort(out)
	}
	if !p.K8sIdentity {
		return out, dropped
	}
	out = append(out, K8sSource+":"+NamespaceKey+"="+p.Namespace(in, image))
	if cluster != "" && len(cluster) <= maxValue && valueRe.MatchString(cluster) {
		out = append(out, K8sSource+":"+ClusterKey+"="+cluster)
	}
	slices.Sort(out) // the agent's order
	return out, dropped
}

// IsStamped reports whether l is one of the identity labels only the plugin sets (see Identity).
func IsStamped(l string) bool {
	return strings.HasPrefix(l, K8sSource+":"+NamespaceKey+"=") || strings.HasPrefix(l, K8sSource+":"+ClusterKey+"=")
}

// ValidNamespace reports whether ns can be a namespace: a value compose and Nomad allow and a DNS-1123
// label keeps (see Namespace).
func ValidNamespace(ns string) bool { return validNamespace(ns) }
