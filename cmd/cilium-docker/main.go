// Command cilium-docker is the Docker network and IPAM plugin for Cilium.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	code, report := exitCode(err)
	if report {
		fmt.Fprintln(os.Stderr, "cilium-docker:", err)
	}
	os.Exit(code)
}
