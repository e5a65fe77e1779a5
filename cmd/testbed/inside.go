package main

import (
	"context"
	"errors"
	"os"
	"strconv"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// insideVerbs run inside a node's namespaces, started by the bed itself: not for people.
func insideVerbs() []cli.Command {
	return []cli.Command{
		{Name: "_mounts", Run: func(_ context.Context, a []string, _ cli.IO) error {
			if len(a) != 3 {
				return cli.Usage(errors.New("want _mounts NODE_DIR STACK RESOLV"))
			}
			stack, err := strconv.ParseBool(a[1])
			if err != nil {
				return cli.Usage(err)
			}
			return testbed.NodeMounts(a[0], stack, a[2])
		}},
		{Name: "_agent", Run: func(_ context.Context, a []string, _ cli.IO) error {
			if len(a) < 3 {
				return cli.Usage(errors.New("want _agent CGDIR MNT AGENT ARGS"))
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			return testbed.AgentWrap(self, a[0], a[1:])
		}},
		{Name: "_agent2", Run: func(_ context.Context, a []string, _ cli.IO) error {
			if len(a) < 2 {
				return cli.Usage(errors.New("want _agent2 MNT AGENT ARGS"))
			}
			return testbed.AgentWrap2(a[0], a[1:])
		}},
	}
}
