package policycheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Binary is the policy binary's file name: beside the plugin's, or in PATH.
const Binary = "cilium-docker-policy"

// Command is the policy binary's subcommand that Exec runs and Serve answers.
const Command = "check-stored"

// maxRequest caps what Serve reads: etcd values are at most 1.5 MiB each, and a node holds few policies.
const maxRequest = 256 << 20

// Document is one policy as stored in etcd: its key ("<name>" or "<namespace>/<name>") and its YAML.
type Document struct {
	Key  string `json:"key"`
	YAML string `json:"yaml"`
}

// Request is the check's stdin.
type Request struct {
	// Cluster is the agent's cluster name ("" for the parser's default).
	Cluster   string     `json:"cluster"`
	Documents []Document `json:"documents"`
}

// Verdict is one document's outcome: Error is empty when the document checks.
type Verdict struct {
	Key   string `json:"key"`
	Error string `json:"error,omitempty"`
}

// Response is the check's stdout: one verdict per document of the request, in its order.
type Response struct {
	Verdicts []Verdict `json:"verdicts"`
}

// CheckFunc checks one stored document for the agent's cluster: nil, or why the agent must not get it.
type CheckFunc func(key, yaml, cluster string) error

// Serve reads a Request from r, checks every document with check and writes the Response to w. An error
// is a request it could not read or a response it could not write, never a refused document.
func Serve(r io.Reader, w io.Writer, check CheckFunc) error {
	b, err := io.ReadAll(io.LimitReader(r, maxRequest+1))
	if err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	if len(b) > maxRequest {
		return fmt.Errorf("read request: larger than %d bytes", maxRequest)
	}
	var req Request
	if err := json.Unmarshal(b, &req); err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	resp := Response{Verdicts: make([]Verdict, 0, len(req.Documents))}
	for _, d := range req.Documents {
		v := Verdict{Key: d.Key}
		if err := check(d.Key, d.YAML, req.Cluster); err != nil {
			v.Error = err.Error()
			if v.Error == "" {
				v.Error = "refused"
			}
		}
		resp.Verdicts = append(resp.Verdicts, v)
	}
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		return fmt.Errorf("write response: %w", err)
	}
	return nil
}

// verdicts matches a response to the documents it answers.
func verdicts(docs []Document, out []byte) ([]error, error) {
	var resp Response
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if len(resp.Verdicts) != len(docs) {
		return nil, fmt.Errorf("response has %d verdicts for %d documents", len(resp.Verdicts), len(docs))
	}
	errs := make([]error, len(docs))
	for i, v := range resp.Verdicts {
		if v.Key != docs[i].Key {
			return nil, fmt.Errorf("verdict %d is for %q, want %q", i, v.Key, docs[i].Key)
		}
		if v.Error != "" {
			errs[i] = errors.New(v.Error)
		}
	}
	return errs, nil
}

// Local checks in this process: the checker of a binary that links the parser (the policy binary's own
// sync, tests).
type Local CheckFunc

// Check checks each document with the function.
func (f Local) Check(_ context.Context, cluster string, docs []Document) ([]error, error) {
	errs := make([]error, len(docs))
	for i, d := range docs {
		errs[i] = f(d.Key, d.YAML, cluster)
	}
	return errs, nil
}
