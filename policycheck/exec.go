package policycheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// DefaultTimeout bounds one run of the check: the start of a 40 MB static binary and a parse per document,
// on a loaded node.
const DefaultTimeout = 30 * time.Second

// maxStderr caps the child's stderr kept for an error message.
const maxStderr = 4 << 10

// Exec checks documents by running the policy binary's check-stored command.
type Exec struct {
	// Path is the cilium-docker-policy binary.
	Path string
	// Timeout bounds each run (DefaultTimeout when 0).
	Timeout time.Duration
}

// Check returns one verdict per document (nil: the document checks), in their order. An error means
// that the check itself failed (no binary, a deadline, a crash, an answer that does not fit): no
// document counts as checked then.
func (e *Exec) Check(ctx context.Context, cluster string, docs []Document) ([]error, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	in, err := json.Marshal(Request{Cluster: cluster, Documents: docs})
	if err != nil {
		return nil, fmt.Errorf("policy check: encode request: %w", err)
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Path, Command)
	cmd.Stdin = bytes.NewReader(in)
	var stdout bytes.Buffer
	stderr := &capped{max: maxStderr}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	cmd.WaitDelay = time.Second // a child that leaves its pipes open past the kill does not hold us
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return nil, fmt.Errorf("policy check: %s %s: %w", e.Path, Command, err)
	}
	errs, err := verdicts(docs, stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("policy check: %s %s: %w", e.Path, Command, err)
	}
	return errs, nil
}

// capped is a buffer that keeps the first max bytes written to it.
type capped struct {
	bytes.Buffer
	max       int
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room < len(p) {
		c.truncated = true
		if room > 0 {
			c.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

func (c *capped) String() string {
	if c.truncated {
		return c.Buffer.String() + "…"
	}
	return c.Buffer.String()
}
