package dirsync

import "context"

// Document is one policy as stored in etcd: its key ("<name>" or "<namespace>/<name>") and its YAML.
type Document struct {
	Key  string
	YAML string
}

// Checker checks stored documents as the agent would parse them. It returns one verdict per document,
// nil when the document may be written; an error means that nothing was checked.
type Checker interface {
	Check(ctx context.Context, cluster string, docs []Document) ([]error, error)
}

// CheckFunc checks one stored document for the agent's cluster name (policy.CheckStored).
type CheckFunc func(key, yaml, cluster string) error

// InProcess checks with f in this process: the sync runs in the policy binary, which links the parser.
type InProcess CheckFunc

// Check checks each document with the function.
func (f InProcess) Check(_ context.Context, cluster string, docs []Document) ([]error, error) {
	errs := make([]error, len(docs))
	for i, d := range docs {
		errs[i] = f(d.Key, d.YAML, cluster)
	}
	return errs, nil
}
