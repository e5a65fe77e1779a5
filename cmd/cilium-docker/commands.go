package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/cmd/internal/cliflags"
)

// commonFlags are the addresses the plugin and its subcommands share, so that one environment
// (CILIUM_DOCKER_*) configures them all.
type commonFlags struct {
	CiliumAPI, DockerHost, PluginDir, MetricsAddress, HubbleSocket string
	Timeout                                                        time.Duration
	JSON                                                           bool
}

func (c *commonFlags) register(fs *flag.FlagSet, timeout time.Duration) {
	fs.StringVar(&c.CiliumAPI, "cilium-api", "unix:///var/run/cilium/cilium.sock", "cilium-agent API address")
	docker := "unix:///var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" { // as the docker CLI beside it
		docker = h
	}
	fs.StringVar(&c.DockerHost, "docker-host-path", docker, "Docker API address (default $DOCKER_HOST, else unix:///var/run/docker.sock)")
	fs.StringVar(&c.PluginDir, "docker-plugins", "/run/docker/plugins", "directory of Docker's plugin sockets")
	fs.StringVar(&c.HubbleSocket, "hubble-socket", "", "Hubble's unix socket (default: hubble.sock beside the --cilium-api socket)")
	fs.DurationVar(&c.Timeout, "timeout", timeout, "deadline of the whole command (of each read with --follow)")
	fs.BoolVar(&c.JSON, "json", false, "print JSON")
}

// hubbleSocket is --hubble-socket, or hubble.sock in the directory of a unix --cilium-api.
func (c *commonFlags) hubbleSocket() (string, error) {
	if c.HubbleSocket != "" {
		return c.HubbleSocket, nil
	}
	u, err := url.Parse(c.CiliumAPI)
	if err != nil || u.Scheme != "unix" {
		return "", fmt.Errorf("--hubble-socket: needed when --cilium-api %q is not a unix socket", c.CiliumAPI)
	}
	return filepath.Join(filepath.Dir(u.Path), "hubble.sock"), nil
}

// parseCommand parses a subcommand's flags, which may come before, between or after its arguments
// (`flows app2 --verdict DROPPED`), then the environment for the flags not given; what does not parse
// is a usage error.
func parseCommand(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, cli.Usage(err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			rest = append(rest, args[1:]...)
			break
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
	if err := cliflags.ApplyEnv(fs); err != nil {
		return nil, cli.Usage(err)
	}
	return rest, nil
}

func validTimeout(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--timeout %s: want a positive duration", d)
	}
	return nil
}

// usage is the command line summary.
const usage = `usage:
  cilium-docker [flags]                 serve the plugin (cilium-docker -h for the flags)
  cilium-docker status [--json]         check this node: socket, agent, Hubble, Docker, networks, containers
  cilium-docker health [--timeout 3s]   exit 0 when the plugin socket and the agent answer, else 1
                                        (the compose healthcheck; --cilium-api, --docker-plugins as the plugin's)
  cilium-docker flows [CONTAINER...] [--follow] [--verdict DROPPED|FORWARDED] [--json]
                                        flows from and to containers, from Hubble
  cilium-docker policy COMMAND ...      policies in the cluster's etcd, checked with Cilium's parser
                                        (runs cilium-docker-policy; cilium-docker policy --help)
  cilium-docker node claim NAME [--range CIDR] | list | remove NAME [--force] | pool set CIDR [--per-node 20]
                                        each node's pod range from the cluster pool in etcd
                                        (runs cilium-docker-policy node; cilium-docker node --help)
  cilium-docker certs init [--dir DIR]  the cluster's etcd CA (DIR: /etc/cilium-docker/pki)
  cilium-docker certs node NAME IP [--dir DIR] [--days 365] [--force] [--etcd-endpoints https://…:2379]
                                        a node's etcd server and client certificates, in DIR/NAME
  cilium-docker version`
