package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyCommandExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	legacy := filepath.Join(dir, "legacy.yaml")
	const doc = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: a}\nspec:\n  endpointSelector: {matchLabels: {name: a}}\n  ingress: [{fromEndpoints: [{matchLabels: {name: b}}]}]\n"
	for p, c := range map[string]string{good: doc, bad: doc + "---\n" + doc,
		legacy: strings.Replace(doc, "{matchLabels: {name: b}}", "{matchLabels: {name: b}, matchExpressions: [{key: io.kubernetes.pod.namespace, operator: DoesNotExist}]}", 1)} {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"policy", "check", good}, 0, "good.yaml: CiliumClusterwideNetworkPolicy a"},
		{[]string{"policy", "check", "--json", good}, 0, `"name": "a"`},
		{[]string{"policy", "check", good, bad}, 1, "refused  " + bad + ": 2 YAML documents"},
		{[]string{"policy", "check", legacy}, 1, "# rewrite of a"},
		{[]string{"policy", "check", "--legacy-selectors", legacy}, 0, "legacy selectors accepted"},
		{[]string{"policy", "apply", "--local", "--policy-dir", dir, good}, 0, "written to " + filepath.Join(dir, "cilium-docker-local.ccnp.a.yaml")},
		{[]string{"policy", "list", "--local", "--policy-dir", dir}, 0, "a\t"},
		{[]string{"policy", "delete", "--local", "--policy-dir", dir, "a"}, 0, "deleted  a"},
		{[]string{"policy", "delete", "--local", "--policy-dir", dir, "a"}, 1, "missing  a"},
		{[]string{"policy", "apply", good}, 2, ""},
		{[]string{"policy", "check"}, 2, "usage: cilium-docker policy check"},
		{[]string{"policy", "frob"}, 2, ""},
		{[]string{"policy"}, 2, "commands:"},
		{[]string{"policy", "get", "--help"}, 0, "usage: cilium-docker policy get"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		err := run(context.Background(), tt.args, &out, &errb)
		if got := exitCode(err); got != tt.code || !strings.Contains(out.String(), tt.out) {
			t.Errorf("%v: exit %d (%v), want %d; output:\n%s%s\nwant it to contain %q", tt.args, got, err, tt.code, out.String(), errb.String(), tt.out)
		}
	}
}
