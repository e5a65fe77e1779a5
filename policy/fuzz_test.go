package policy

import (
	"errors"
	"testing"
)

// FuzzCheck feeds arbitrary policy files to the checker the CLI and the policy sync use before any
// document reaches an agent's directory: it never panics, every failure is a refusal (*Error) with a
// reason, and every accepted document is one the checker accepts again as written (what the sync
// writes is what was checked), with a DNS-1123 name.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: app2-from-app1\n" +
		"spec:\n  endpointSelector:\n    matchLabels:\n      name: app2\n  ingress:\n  - fromEndpoints:\n    - matchLabels:\n        name: app1\n"))
	f.Add([]byte("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: a\n  namespace: shop\nspec:\n  endpointSelector: {}\n"))
	f.Add([]byte(`[{"endpointSelector":{"matchLabels":{"name":"app2"}},"ingress":[{"fromEndpoints":[{"matchLabels":{"name":"app1"}}]}],"labels":[{"key":"name","value":"x"}]}]`))
	f.Add([]byte("a: b\n---\nc: d\n"))
	f.Add([]byte("kind: CiliumNetworkPolicy\nspec: [1, 2\n"))
	f.Add([]byte("[{}, {\"endpointSelector\": 7}]"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Check("fuzz.yaml", data, "")
		if err != nil {
			var refusal *Error
			if !errors.As(err, &refusal) || refusal.Reason == "" {
				t.Fatalf("Check(%q): error %v (%T) is not a refusal with a reason", data, err, err)
			}
			return
		}
		if len(docs) == 0 {
			t.Fatalf("Check(%q) accepted no document", data)
		}
		for _, d := range docs {
			if d.Name == "" {
				t.Fatalf("Check(%q) accepted a document without a name: %+v", data, d)
			}
			if _, err := CheckDocument(d.YAML, ""); err != nil {
				t.Fatalf("Check(%q) accepted %s, whose YAML it then refuses: %v\n%s", data, d.Key(), err, d.YAML)
			}
		}
	})
}
