package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium-docker/cilium-docker/policy"
)

// maxPolicyFile caps one policy file.
const maxPolicyFile = 1 << 20

// checkResult is one file's outcome.
type checkResult struct {
	File      string            `json:"file"`
	Documents []policy.Document `json:"documents,omitempty"`
	Error     string            `json:"error,omitempty"`
}

// checkFiles checks every file; refused counts the files refused.
func (c *policyCmd) checkFiles(files []string) (results []checkResult, refused int, err error) {
	for _, f := range files {
		r := checkResult{File: f}
		data, rerr := c.readPolicyFile(f)
		if rerr == nil {
			name := filepath.Base(f)
			if f == "-" {
				name = "stdin"
			}
			r.Documents, rerr = policy.Check(name, data, c.cluster)
		}
		switch {
		case rerr == nil && !c.legacy:
			for _, d := range r.Documents {
				if len(d.Legacy) > 0 {
					rerr = fmt.Errorf("%s %q: peer selectors require the namespace or cluster label not to exist, so they match "+
						"no container under the plugin's Kubernetes identity labels: %s (rewrite below; --legacy-selectors "+
						"accepts them for plugins run with --k8s-identity-labels=false)", d.Kind, d.Key(), strings.Join(d.Legacy, "; "))
				}
			}
		case rerr != nil && !policy.IsRefusal(rerr):
			return nil, 0, fmt.Errorf("%s: %w", f, rerr)
		}
		if rerr != nil {
			r.Error = rerr.Error()
			refused++
		}
		results = append(results, r)
	}
	return results, refused, nil
}

func (c *policyCmd) readPolicyFile(f string) ([]byte, error) {
	if f == "-" {
		return policy.ReadAll(c.stdin, maxPolicyFile)
	}
	fh, err := os.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return policy.ReadAll(fh, maxPolicyFile)
}

func (c *policyCmd) report(results []checkResult, verb string) {
	if c.json {
		return
	}
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(c.stdout, "refused  %s: %s\n", r.File, r.Error)
			for _, d := range r.Documents {
				if d.Rewrite != "" {
					fmt.Fprintf(c.stdout, "# rewrite of %s (%s):\n%s", d.Key(), r.File, d.Rewrite)
				}
			}
			continue
		}
		for _, d := range r.Documents {
			fmt.Fprintf(c.stdout, "%-8s %s: %s %s\n", verb, r.File, d.Kind, d.Key())
			for _, w := range d.Warnings {
				fmt.Fprintf(c.stdout, "  warning: %s\n", w)
			}
			if len(d.Legacy) > 0 {
				fmt.Fprintf(c.stdout, "  warning: legacy selectors accepted: %s\n", strings.Join(d.Legacy, "; "))
			}
		}
	}
}

func (c *policyCmd) check(_ context.Context, files []string) error {
	results, refused, err := c.checkFiles(files)
	if err != nil {
		return err
	}
	c.report(results, "ok")
	if c.json {
		if err := c.printJSON(results); err != nil {
			return err
		}
	}
	if refused > 0 {
		return &refusedError{refused}
	}
	return nil
}
