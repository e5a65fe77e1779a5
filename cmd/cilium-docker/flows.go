package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
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
	)
	fs := flag.NewFlagSet("cilium-docker flows", flag.ContinueOnError)
	f.register(fs, 10*time.Second)
	fs.BoolVar(&follow, "follow", false, "keep printing new flows until interrupted")
	fs.BoolVar(&follow, "f", false, "short for --follow")
	fs.StringVar(&verdict, "verdict", "", "only flows with this verdict: FORWARDED, DROPPED, …")
	fs.Uint64Var(&last, "last", 0, "only the newest N buffered flows (0: all Hubble holds)")
	fs.DurationVar(&since, "since", 0, "only flows of the last DURATION (0: no bound)")
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
		if f.JSON {
			return enc.Encode(fl)
		}
		_, err := fmt.Fprintln(stdout, fl.Line())
		return err
	})
}
