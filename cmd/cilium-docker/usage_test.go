package main

import (
	"context"
	"io"
	"testing"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/server/servertest"
)

// TestUsageExitsTwo: a command line that cannot run exits 2 in every command, apart from status's 1
// ("findings need attention") and any other failure's 1. None of these reaches a socket.
func TestUsageExitsTwo(t *testing.T) {
	dir := servertest.ShortDir(t)
	for _, args := range [][]string{
		{"--docker-plugins", dir, "--frobnicate"},
		{"--docker-plugins", dir, "serve"},
		{"status", "extra"},
		{"status", "--frobnicate"},
		{"flows", "--verdict"},
		{"certs"},
		{"certs", "frob"},
		{"certs", "init", "extra"},
		{"certs", "node", "only-a-name"},
	} {
		err := run(context.Background(), args, cli.IO{Out: io.Discard, Err: io.Discard})
		if code, report := cli.ExitCode(err); code != 2 || !report {
			t.Errorf("%q: exit %d, report %v (%v); want 2 and the error printed", args, code, report, err)
		}
	}
	err := run(context.Background(), []string{"status", "--timeout", "0s"}, cli.IO{Out: io.Discard, Err: io.Discard})
	if code, _ := cli.ExitCode(err); code != 1 {
		t.Errorf("status --timeout 0s: exit %d (%v); want 1, a value refused", code, err)
	}
}
