package policy

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// classicRule is what convertRules needs of a rule of the classic array: its name label. The rule
// itself is carried over as the user wrote it and parsed by Cilium's own types.
type classicRule struct {
	Labels []struct {
		Key    string `json:"key"`
		Value  string `json:"value"`
		Source string `json:"source"`
	} `json:"labels"`
}

var notName = regexp.MustCompile(`[^a-z0-9.-]+`)

// convertRules turns the classic JSON rule array (the body of `cilium policy import` and of Netreap's
// kvstore key) into one CCNP per rule, named after the rule's "name" label, else after the file.
func convertRules(file string, data []byte, cluster string) ([]Document, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, refuse("JSON rule array: %v", err)
	}
	if len(raw) == 0 {
		return nil, refuse("JSON rule array is empty")
	}
	base := dnsName(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)))
	if base == "" {
		base = "policy"
	}
	var docs []Document
	seen := map[string]bool{}
	for i, r := range raw {
		var cr classicRule
		if err := json.Unmarshal(r, &cr); err != nil {
			return nil, refuse("rule %d: %v", i+1, err)
		}
		name := ""
		for _, l := range cr.Labels {
			if l.Key == "name" || l.Key == "io.cilium.k8s.policy.name" {
				name = dnsName(l.Value)
			}
		}
		if name == "" {
			name = base
			if len(raw) > 1 {
				name = fmt.Sprintf("%s-%d", base, i+1)
			}
		}
		if seen[name] {
			return nil, refuse("rule %d: name %q given twice", i+1, name)
		}
		seen[name] = true
		var spec map[string]any
		if err := json.Unmarshal(r, &spec); err != nil {
			return nil, refuse("rule %d: %v", i+1, err)
		}
		delete(spec, "labels") // the agent labels each rule with its file; the name is the policy's
		j, err := json.Marshal(map[string]any{
			"apiVersion": "cilium.io/v2",
			"kind":       KindCCNP,
			"metadata":   map[string]any{"name": name},
			"spec":       spec,
		})
		if err != nil {
			return nil, refuse("rule %d (%s): %v", i+1, name, err)
		}
		y, err := yaml.JSONToYAML(j)
		if err != nil {
			return nil, refuse("rule %d (%s): as YAML: %v", i+1, name, err)
		}
		d, err := CheckDocument(string(y), cluster)
		if err != nil {
			return nil, refuse("rule %d (%s): %v", i+1, name, err)
		}
		docs = append(docs, *d)
	}
	return docs, nil
}

// dnsName lowercases s and replaces what a DNS-1123 subdomain cannot hold.
func dnsName(s string) string {
	s = notName.ReplaceAllString(strings.ToLower(s), "-")
	return strings.Trim(s, "-.")
}
