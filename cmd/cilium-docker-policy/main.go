// Command cilium-docker-policy checks Cilium network policies with Cilium's own parser and keeps them in
// the cluster's etcd: the `cilium-docker policy` commands (which run this binary) and the check the
// plugin's policy sync runs for each new document. It is a binary of its own because the parser links
// Kubernetes apimachinery and much of cilium-agent, whose package initialisation alone would cost the
// long-running plugin about 12 MB of resident memory.
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
	prog := progName(os.Args[0])
	err := run(ctx, prog, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if code := exitCode(err); code != 0 {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(code)
	}
}
