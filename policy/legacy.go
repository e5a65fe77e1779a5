package policy

import (
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// The label keys the plugin stamps on every container (labels.NamespaceKey, labels.ClusterKey).
const (
	namespaceKey = "io.kubernetes.pod.namespace"
	clusterKey   = "io.cilium.k8s.policy.cluster"
)

// peerSelectorFields are the rule fields whose selectors Cilium rewrites with the namespace and
// cluster requirements (getEndpointSelector in pkg/k8s/apis/cilium.io/utils).
var peerSelectorFields = map[string]string{
	"ingress": "fromEndpoints", "ingressDeny": "fromEndpoints",
	"egress": "toEndpoints", "egressDeny": "toEndpoints",
}

// legacySelectors finds the peer selectors of the document that require the namespace or cluster label
// not to exist: written for containers without those labels, they match no container once the plugin
// stamps them. It returns where they are and the document with those requirements removed (the
// namespace and cluster of the policy then apply, as Cilium adds them).
func legacySelectors(text []byte) (where []string, rewrite string, err error) {
	j, err := yaml.YAMLToJSON(text)
	if err != nil {
		return nil, "", err
	}
	var doc map[string]any
	if err := json.Unmarshal(j, &doc); err != nil {
		return nil, "", err
	}
	var rules []map[string]any
	var paths []string
	if spec, ok := doc["spec"].(map[string]any); ok {
		rules, paths = append(rules, spec), append(paths, "spec")
	}
	if specs, ok := doc["specs"].([]any); ok {
		for i, s := range specs {
			if m, ok := s.(map[string]any); ok {
				rules, paths = append(rules, m), append(paths, fmt.Sprintf("specs[%d]", i))
			}
		}
	}
	for i, rule := range rules {
		for section, field := range peerSelectorFields {
			items, _ := rule[section].([]any)
			for k, item := range items {
				m, _ := item.(map[string]any)
				sels, _ := m[field].([]any)
				for n, sel := range sels {
					sm, _ := sel.(map[string]any)
					if removed := dropAbsenceOf(sm); len(removed) > 0 {
						where = append(where, fmt.Sprintf("%s.%s[%d].%s[%d]: %s DoesNotExist", paths[i], section, k, field, n,
							strings.Join(removed, ", ")))
					}
				}
			}
		}
	}
	if len(where) == 0 {
		return nil, "", nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, "", err
	}
	y, err := yaml.JSONToYAML(out)
	if err != nil {
		return nil, "", err
	}
	return where, string(y), nil
}

// dropAbsenceOf removes the selector's DoesNotExist requirements on the namespace and cluster keys
// (under any source) and returns their keys.
func dropAbsenceOf(sel map[string]any) []string {
	exprs, _ := sel["matchExpressions"].([]any)
	var kept []any
	var removed []string
	for _, e := range exprs {
		m, _ := e.(map[string]any)
		key, _ := m["key"].(string)
		op, _ := m["operator"].(string)
		if op == "DoesNotExist" && isStampedKey(key) {
			removed = append(removed, key)
			continue
		}
		kept = append(kept, e)
	}
	if len(removed) == 0 {
		return nil
	}
	if len(kept) == 0 {
		delete(sel, "matchExpressions")
	} else {
		sel["matchExpressions"] = kept
	}
	return removed
}

func isStampedKey(key string) bool {
	for _, src := range []string{"", "k8s:", "any:"} {
		if key == src+namespaceKey || key == src+clusterKey {
			return true
		}
	}
	return false
}
