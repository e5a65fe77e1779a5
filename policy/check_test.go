package policy

import (
	"strings"
	"testing"
)

const plain = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: app2-from-app1}
spec:
  endpointSelector: {matchLabels: {name: app2}}
  ingress:
  - fromEndpoints: [{matchLabels: {name: app1}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
`

// deny is a second policy: a file that holds it after plain must be refused, not lose it silently.
const deny = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: app2-deny-app3}
spec:
  endpointSelector: {matchLabels: {name: app2}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {name: app3}}]
`

const profile = `[{
  "labels": [{"key": "name", "value": "app2-from-app1", "source": "unspec"}],
  "endpointSelector": {"matchLabels": {"name": "app2"}},
  "ingress": [{"fromEndpoints": [{"matchLabels": {"name": "app1"}}],
               "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]
}]`

func TestCheckAccepts(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             []string // keys
	}{
		{"plain CCNP", "p.yaml", plain, []string{"app2-from-app1"}},
		{"leading comment and separator", "p.yaml", "# a policy\n---\n" + plain, []string{"app2-from-app1"}},
		{"separator with trailing spaces", "p.yaml", "--- \n" + plain, []string{"app2-from-app1"}},
		{"separator with a tab", "p.yaml", "---\t\n" + plain, []string{"app2-from-app1"}},
		{"separator alone before and after", "p.yaml", "---\n" + plain + "---\n", []string{"app2-from-app1"}},
		{"end marker", "p.yaml", plain + "...\n", []string{"app2-from-app1"}},
		{"namespaced CNP", "p.yaml", strings.Replace(strings.Replace(plain, "CiliumClusterwideNetworkPolicy", "CiliumNetworkPolicy", 1),
			"metadata: {name: app2-from-app1}", "metadata: {name: web, namespace: shop}", 1), []string{"shop/web"}},
		{"classic rule array", "profile.json", profile, []string{"app2-from-app1"}},
		{"classic rules without names", "My Rules.json", `[{"endpointSelector":{"matchLabels":{"a":"b"}},"ingress":[{"fromEntities":["world"]}]},{"endpointSelector":{"matchLabels":{"c":"d"}},"egress":[{"toEntities":["cluster"]}]}]`,
			[]string{"my-rules-1", "my-rules-2"}},
		{"specs list", "p.yaml", `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: two}
specs:
- endpointSelector: {matchLabels: {name: a}}
  ingress: [{fromEntities: [cluster]}]
- endpointSelector: {matchLabels: {name: b}}
  egress: [{toEntities: [cluster]}]
`, []string{"two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Check(tt.file, []byte(tt.data), "local")
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			var got []string
			for _, d := range docs {
				got = append(got, d.Key())
				if len(d.Legacy) != 0 {
					t.Errorf("%s: legacy selectors %v", d.Key(), d.Legacy)
				}
				// What is written must decode and parse again, as the node checks it before writing.
				if _, err := CheckDocument(d.YAML, "local"); err != nil {
					t.Errorf("%s: the document written does not check again: %v\n%s", d.Key(), err, d.YAML)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("documents: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckRefuses(t *testing.T) {
	tests := []struct {
		name, file, data, want string
	}{
		{"empty file", "p.yaml", "\n \n", "empty file"},
		{"only comments", "p.yaml", "# nothing\n---\n", "no policy document"},
		{"YAML syntax error", "p.yaml", "apiVersion: cilium.io/v2\nkind: [unclosed\n", "YAML document 1"},
		{"multi-document", "p.yaml", plain + "---\n" + strings.Replace(plain, "app2-from-app1", "other", 1), "2 YAML documents"},
		// YAML ends the marker with any white space: the agent reads only the first document.
		{"second document after ---<TAB>", "p.yaml", plain + "---\t\n" + deny, "2 YAML documents"},
		{"second document after --- and spaces", "p.yaml", plain + "---   \n" + deny, "2 YAML documents"},
		{"second document after ---<TAB>comment", "p.yaml", plain + "---\t# the deny\n" + deny, "2 YAML documents"},
		{"second document on the ---<TAB> line", "p.yaml", plain + "---\t{apiVersion: cilium.io/v2, kind: CiliumClusterwideNetworkPolicy, " +
			"metadata: {name: d}, spec: {endpointSelector: {}, ingressDeny: [{fromEntities: [world]}]}}\n", "2 YAML documents"},
		{"second document on the marker line", "p.yaml", plain + "--- {apiVersion: cilium.io/v2, kind: CiliumClusterwideNetworkPolicy, " +
			"metadata: {name: d}, spec: {endpointSelector: {}, ingressDeny: [{fromEntities: [world]}]}}\n", "2 YAML documents"},
		{"second document after an end marker", "p.yaml", plain + "...\n---\n" + deny, "2 YAML documents"},
		{"text after an end marker", "p.yaml", plain + "...\n" + deny, "YAML document 2"},
		{"empty first document", "p.yaml", "---\n---\n" + plain, "YAML document 1 is empty"},
		{"empty spec", "p.yaml", "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: e}\nspec: {}\n", "Invalid CiliumClusterwideNetworkPolicy spec"},
		{"no spec", "p.yaml", "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: e}\n", "empty policy"},
		{"no name", "p.yaml", strings.Replace(plain, "metadata: {name: app2-from-app1}", "metadata: {}", 1), "must have name"},
		{"bad name", "p.yaml", strings.Replace(plain, "app2-from-app1", "App_2", 1), "metadata.name"},
		{"other kind", "p.yaml", strings.Replace(plain, "CiliumClusterwideNetworkPolicy", "NetworkPolicy", 1), "kind \"NetworkPolicy\""},
		{"CNP without namespace", "p.yaml", strings.Replace(plain, "CiliumClusterwideNetworkPolicy", "CiliumNetworkPolicy", 1), "no metadata.namespace"},
		{"CCNP with namespace", "p.yaml", strings.Replace(plain, "metadata: {name: app2-from-app1}", "metadata: {name: x, namespace: shop}", 1), "namespaced"},
		{"wrong field type", "p.yaml", strings.Replace(plain, "endpointSelector: {matchLabels: {name: app2}}", "endpointSelector: [1]", 1), "decode"},
		{"bad port", "p.yaml", strings.Replace(plain, `port: "8080"`, `port: "80800"`, 1), "Invalid"},
		{"JSON array with a bad rule", "r.json", `[{"endpointSelector":{"matchLabels":{"a":"b"}},"ingress":[{"fromEntities":["world"]}]},{"endpointSelector":{"matchLabels":{"a":"b"}},"ingress":[{"toPorts":[{"ports":[{"port":"99999"}]}]}]}]`, "rule 2"},
		{"JSON array syntax", "r.json", `[{"endpointSelector":`, "JSON rule array"},
		{"empty JSON array", "r.json", `[]`, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Check(tt.file, []byte(tt.data), "local")
			if err == nil {
				t.Fatalf("Check accepted it: %+v", docs)
			}
			if !IsRefusal(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: got %v (refusal %v), want a refusal containing %q", err, IsRefusal(err), tt.want)
			}
		})
	}
}

func TestCheckLegacySelectors(t *testing.T) {
	const legacy = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: app2-from-app3-only}
spec:
  endpointSelector: {matchLabels: {"container:name": app2}}
  ingress:
  - fromEndpoints:
    - matchLabels: {"container:name": app3}
      matchExpressions:
      - {key: io.kubernetes.pod.namespace, operator: DoesNotExist}
      - {key: io.cilium.k8s.policy.cluster, operator: DoesNotExist}
  egress:
  - toEndpoints:
    - matchLabels: {"container:name": app3}
      matchExpressions:
      - {key: k8s:io.kubernetes.pod.namespace, operator: DoesNotExist}
      - {key: tier, operator: Exists}
`
	docs, err := Check("p.yaml", []byte(legacy), "local")
	if err != nil {
		t.Fatal(err)
	}
	d := docs[0]
	if len(d.Legacy) != 2 {
		t.Fatalf("legacy selectors: got %q, want 2", d.Legacy)
	}
	rd, err := CheckDocument(d.Rewrite, "local")
	if err != nil {
		t.Fatalf("the rewrite does not check: %v\n%s", err, d.Rewrite)
	}
	if len(rd.Legacy) != 0 || strings.Contains(d.Rewrite, "DoesNotExist") || !strings.Contains(d.Rewrite, "key: tier") {
		t.Errorf("rewrite:\n%s", d.Rewrite)
	}
}

// TestCheckStoredRefusesSecondDocument: the sync's check of a stored document counts documents as the
// agent's YAML parser does, whatever ends the marker.
func TestCheckStoredRefusesSecondDocument(t *testing.T) {
	for _, sep := range []string{"---\n", "--- \n", "---\t\n", "---\t# x\n", "...\n---\n"} {
		err := CheckStored("app2-from-app1", plain+sep+deny, "local")
		if !IsRefusal(err) || !strings.Contains(err.Error(), "2 YAML documents") {
			t.Errorf("separator %q: got %v, want a refusal of 2 YAML documents", sep, err)
		}
	}
}
