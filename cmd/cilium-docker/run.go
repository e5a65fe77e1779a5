package main

import (
	"context"
	"fmt"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/driver"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// defaultDriverName is the plugin's network and IPAM driver name as a legacy plugin: its socket's file
// name; socketName is that file.
const (
	defaultDriverName = driver.DriverName
	socketName        = defaultDriverName + ".sock"
)

// run runs the command args name; without one, args are the daemon's flags and it serves.
func run(ctx context.Context, args []string, streams cli.IO) error {
	return commands().Dispatch(ctx, args, streams)
}

// commands is the binary's command table.
func commands() cli.Table {
	return cli.Table{
		Commands: []cli.Command{
			{Name: "version", Run: func(_ context.Context, _ []string, streams cli.IO) error {
				fmt.Fprintln(streams.Out, "cilium-docker", version)
				return nil
			}},
			{Name: "status", Run: runStatus},
			{Name: "health", Run: runHealth},
			{Name: "flows", Run: runFlows},
			{Name: "certs", Run: runCerts},
			{Name: "policy", Run: func(ctx context.Context, args []string, streams cli.IO) error {
				return runPolicy(ctx, args, streams.In, streams.Out, streams.Err)
			}},
			{Name: "node", Run: func(ctx context.Context, args []string, streams cli.IO) error {
				return runNode(ctx, args, streams.In, streams.Out, streams.Err)
			}},
			{Name: "help", Run: func(_ context.Context, _ []string, streams cli.IO) error {
				fmt.Fprintln(streams.Out, usage)
				return nil
			}},
		},
		Default: func(ctx context.Context, args []string, streams cli.IO) error {
			cfg, err := parseConfig(args, streams.Err)
			if err != nil {
				return err
			}
			return serve(ctx, cfg, streams.Err)
		},
	}
}
