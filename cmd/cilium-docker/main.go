// Command cilium-docker is the Docker network and IPAM plugin for Cilium.
package main

import "github.com/cilium-docker/cilium-docker/cmd/internal/cli"

func main() { cli.Main("cilium-docker", run) }
