package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
)

// runWith is run with the streams given one by one.
func runWith(ctx context.Context, prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return run(ctx, prog, args, cli.IO{In: stdin, Out: stdout, Err: stderr})
}

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
		{[]string{"check", good}, 0, "good.yaml: CiliumClusterwideNetworkPolicy a"},
		{[]string{"check", "--json", good}, 0, `"name": "a"`},
		{[]string{"check", good, bad}, 1, "refused  " + bad + ": 2 YAML documents"},
		{[]string{"check", legacy}, 1, "# rewrite of a"},
		{[]string{"check", "--legacy-selectors", legacy}, 0, "legacy selectors accepted"},
		{[]string{"apply", "--local", "--policy-dir", dir, good}, 0, "written to " + filepath.Join(dir, "cilium-docker-local.ccnp.a.yaml")},
		{[]string{"list", "--local", "--policy-dir", dir}, 0, "a\t"},
		{[]string{"delete", "--local", "--policy-dir", dir, "a"}, 0, "deleted  a"},
		{[]string{"delete", "--local", "--policy-dir", dir, "a"}, 1, "missing  a"},
		{[]string{"apply", good}, 2, ""},
		{[]string{"check"}, 2, "usage: cilium-docker policy check"},
		{[]string{"frob"}, 2, ""},
		{[]string{}, 2, "commands:"},
		{[]string{"get", "--help"}, 0, "usage: cilium-docker policy get"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		err := run(context.Background(), cliflags.PolicyViaPlugin, tt.args, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb})
		if got, _ := cli.ExitCode(err); got != tt.code || !strings.Contains(out.String(), tt.out) {
			t.Errorf("%v: exit %d (%v), want %d; output:\n%s%s\nwant it to contain %q", tt.args, got, err, tt.code, out.String(), errb.String(), tt.out)
		}
	}
}

func TestProgName(t *testing.T) {
	for argv0, want := range map[string]string{cliflags.PolicyViaPlugin: cliflags.PolicyViaPlugin, cliflags.PluginBinary: cliflags.PluginBinary, "/usr/local/bin/cilium-docker-policy": cliflags.PolicyBinary, "x": cliflags.PolicyBinary} {
		if got := progName(argv0); got != want {
			t.Errorf("progName(%q) = %q, want %q", argv0, got, want)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), cliflags.PolicyBinary, []string{"--help"}, cli.IO{Out: &out, Err: &out}); err != nil ||
		!strings.Contains(out.String(), "usage: cilium-docker-policy COMMAND") {
		t.Fatalf("--help: %v\n%s", err, out.String())
	}
}

// TestPolicyRefusesWhatAnAgentDrops: check and apply refuse a Kafka rule, which the 1.20 agent ignores
// (the port would allow everything), and apply writes nothing.
func TestPolicyRefusesWhatAnAgentDrops(t *testing.T) {
	dir := t.TempDir()
	kafka := filepath.Join(dir, "kafka.yaml")
	const doc = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: orders}\nspec:\n" +
		"  endpointSelector: {matchLabels: {name: kafka}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {name: shop}}]\n" +
		"    toPorts: [{ports: [{port: \"9092\", protocol: TCP}], rules: {kafka: [{role: produce, topic: orders}]}}]\n"
	if err := os.WriteFile(kafka, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", kafka}, {"apply", "--local", "--policy-dir", dir, kafka}} {
		var out, errb bytes.Buffer
		err := run(context.Background(), cliflags.PolicyViaPlugin, args, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb})
		if got, _ := cli.ExitCode(err); got != 1 || !strings.Contains(out.String(), "rules.kafka: Cilium 1.20 removed") {
			t.Errorf("%v: exit %d (%v), want 1 with the refusal; output:\n%s%s", args, got, err, out.String(), errb.String())
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Errorf("policy directory after the refused apply: %v %v, want only kafka.yaml", ents, err)
	}
}
