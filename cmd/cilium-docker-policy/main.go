// Command cilium-docker-policy checks Cilium network policies with Cilium's own parser and keeps them in
// the cluster's etcd: the `cilium-docker policy` commands (which run this binary) and the check the
// plugin's policy sync runs for each new document. It is a binary of its own because the parser links
// Kubernetes apimachinery and much of cilium-agent, whose package initialisation alone would cost the
// long-running plugin about 12 MB of resident memory.
package main

import (
	"context"
	"os"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
)

func main() {
	prog := progName(os.Args[0])
	cli.Main(prog, func(ctx context.Context, args []string, streams cli.IO) error { return run(ctx, prog, args, streams) })
}
