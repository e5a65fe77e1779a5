package syncreport

import (
	"encoding/json"
	"fmt"
	"io"
)

// Stats is what the policy sync reports of itself.
type Stats struct {
	Revision int64  `json:"revision"` // the store revision last applied
	Refused  int    `json:"refused"`  // documents of that revision not in force as stored
	Errors   uint64 `json:"errors"`   // failures so far: failed passes, and documents newly refused
	Failing  bool   `json:"failing"`  // the last pass failed: etcd unreachable, the watch broke, the check failed
	// GC is the identity garbage collector's state (zero when it is off or has not run).
	GC IdentityGC `json:"gc"`
}

// revisionKey is the JSON name of Stats.Revision: a line without it is not a report.
const revisionKey = "revision"

// Write writes s to w as one JSON line, in one Write call.
func Write(w io.Writer, s Stats) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode the sync's report: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write the sync's report: %w", err)
	}
	return nil
}

// Parse reads one line that Write wrote; ok is false when the line is not a report (not a JSON object
// of Stats, or without a revision), such as a log line.
func Parse(line []byte) (s Stats, ok bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		return Stats{}, false
	}
	if _, ok := fields[revisionKey]; !ok {
		return Stats{}, false
	}
	if err := json.Unmarshal(line, &s); err != nil {
		return Stats{}, false
	}
	return s, true
}

// IdentityGC is what the identity garbage collector of the sync's process reports (identitygc): the
// elected collector's passes, on the node that holds the election.
type IdentityGC struct {
	Leader   bool   `json:"leader"`    // this node's collector is the cluster's one now
	Passes   uint64 `json:"passes"`    // passes that listed every identity, since the sync started
	LastPass int64  `json:"last_pass"` // Unix time the last pass ended, complete or not (0: none yet)
	Alive    int    `json:"alive"`     // identities (master keys) the last pass left, of every range
	Removed  uint64 `json:"removed"`   // identities removed since the sync started
	Failures uint64 `json:"failures"`  // passes that failed (etcd unreachable, the lock lost)
	Failing  bool   `json:"failing"`   // the last pass failed
}
