package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/hubble"
)

// runFlows is `cilium-docker flows [CONTAINER...]`: the flows from and to the containers, from the
// node's Hubble, one line each (or JSON lines), and with --follow new ones as they come.
func runFlows(ctx context.Context, args []string, streams cli.IO) error {
	stdout := streams.Out
	var (
		f       commonFlags
		follow  bool
		verdict string
		last    uint64
		since   time.Duration
		explain bool
	)
	fs := flag.NewFlagSet("cilium-docker flows", flag.ContinueOnError)
	f.register(fs, 10*time.Second)
	fs.BoolVar(&follow, "follow", false, "keep printing new flows until interrupted")
	fs.BoolVar(&follow, "f", false, "short for --follow")
	fs.StringVar(&verdict, "verdict", "", "only flows with this verdict: FORWARDED, DROPPED, …")
	fs.Uint64Var(&last, "last", 0, "only the newest N buffered flows (0: all Hubble holds)")
	fs.DurationVar(&since, "since", 0, "only flows of the last DURATION (0: no bound)")
	fs.BoolVar(&explain, "explain", false, "for each dropped flow: who dropped it, and the smallest policy that would allow exactly it "+
		"(with --json: explanation.suggestion, for `cilium-docker policy apply -`)")
	names, err := parseCommand(fs, args, streams.Err)
	if err != nil {
		return err
	}
	if err := validTimeout(f.Timeout); err != nil {
		return err
	}
	if verdict, err = hubble.ParseVerdict(verdict); err != nil {
		return fmt.Errorf("--verdict: %w", err)
	}
	path, err := f.hubbleSocket()
	if err != nil {
		return err
	}
	c, err := hubble.New(path, f.Timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	q := hubble.Query{Containers: names, Verdict: verdict, Last: last, Follow: follow}
	if since > 0 {
		q.Since = time.Now().Add(-since)
	}
	enc := json.NewEncoder(stdout)
	return c.Flows(ctx, q, func(fl hubble.Flow) error {
		if explain {
			fl.Explanation = fl.Explain()
		}
		if f.JSON {
			return enc.Encode(fl)
		}
		_, err := fmt.Fprintln(stdout, fl.Line())
		if err == nil && fl.Explanation != nil {
			err = writeExplanation(stdout, fl.Explanation)
		}
		return err
	})
}

// writeExplanation prints why a flow was dropped and the suggested policy, indented under its line.
func writeExplanation(w io.Writer, e *hubble.Explanation) error {
	if _, err := fmt.Fprintf(w, "    why: %s\n", e.Why); err != nil || e.Suggestion == "" {
		return err
	}
	_, err := fmt.Fprintf(w, "    allow exactly this flow with (cilium-docker policy apply -):\n%s", indent(e.Suggestion, "      "))
	return err
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pre) + "\n"
}
