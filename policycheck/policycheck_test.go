package policycheck_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium-docker/cilium-docker/policycheck"
)

var docs = []policycheck.Document{{Key: "a", YAML: "good"}, {Key: "b", YAML: "bad"}}

func check(key, yaml, cluster string) error {
	if yaml != "good" || cluster != "c1" {
		return fmt.Errorf("%s: refused in %s", key, cluster)
	}
	return nil
}

// fake writes a shell script that stands for the policy binary.
func fake(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), policycheck.Binary)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeThroughExec(t *testing.T) {
	// The request as Exec sends it, answered by Serve, read back by Exec from a fake replaying it.
	var in, out bytes.Buffer
	rec := fake(t, `[ "$1" = check-stored ] || exit 2; cat > "$0.in"; cat "$0.out"`)
	errs, err := policycheck.Local(check).Check(context.Background(), "c1", docs)
	if err != nil || errs[0] != nil || errs[1] == nil {
		t.Fatalf("Local: %v %v", errs, err)
	}
	// First run: no answer yet, so Exec fails; it has sent its request.
	if err := os.WriteFile(rec+".out", []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &policycheck.Exec{Path: rec, Timeout: 10 * time.Second}
	if _, err := e.Check(context.Background(), "c1", docs); err == nil || !strings.Contains(err.Error(), "decode response") {
		t.Fatalf("Check with a garbled answer: %v, want a decode error", err)
	}
	req, err := os.ReadFile(rec + ".in")
	if err != nil {
		t.Fatal(err)
	}
	in.Write(req)
	if err := policycheck.Serve(&in, &out, check); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec+".out", out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	errs, err = e.Check(context.Background(), "c1", docs)
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[1] == nil || errs[1].Error() != "b: refused in c1" {
		t.Fatalf("verdicts %v, want nil and b's refusal", errs)
	}
}

func TestExecFailures(t *testing.T) {
	tests := []struct {
		name, script, want string
	}{
		{"crash", `echo "panic: boom" >&2; exit 3`, "exit status 3: panic: boom"},
		{"deadline", `exec sleep 30`, "deadline exceeded"},
		{"fewer verdicts", `echo '{"verdicts":[{"key":"a"}]}'`, "1 verdicts for 2 documents"},
		{"other keys", `echo '{"verdicts":[{"key":"b"},{"key":"a"}]}'`, `verdict 0 is for "b", want "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &policycheck.Exec{Path: fake(t, tt.script), Timeout: 500 * time.Millisecond}
			start := time.Now()
			_, err := e.Check(context.Background(), "c1", docs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %s: the deadline did not hold", d)
			}
		})
	}
	_, err := (&policycheck.Exec{Path: filepath.Join(t.TempDir(), "missing")}).Check(context.Background(), "", docs)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing binary: %v, want ErrNotExist", err)
	}
	if errs, err := (&policycheck.Exec{Path: "/nonexistent"}).Check(context.Background(), "", nil); errs != nil || err != nil {
		t.Fatalf("no documents: %v %v, want nothing run", errs, err)
	}
}

func TestServeRefusesGarbage(t *testing.T) {
	var out bytes.Buffer
	if err := policycheck.Serve(strings.NewReader("{"), &out, check); err == nil || out.Len() != 0 {
		t.Fatalf("Serve of a broken request: %v, output %q", err, out.String())
	}
}
