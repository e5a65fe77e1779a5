// Command testbed is the test bed's command line, for people, make demo, the bench and CI: the bed's
// verbs (up, down, exec, stop, ...) over internal/testbed, the test matrix of internal/matrix (the
// legs, each leg's go test -run pattern and tests, the versions) for the build and demo scripts, and
// the e2e tier (e2e, internal/e2erun). Its hidden verbs (_mounts, _agent) are the steps the bed runs
// inside a node's namespaces. scripts/testbed.sh builds it when stale and execs it.
// Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 status: a dead daemon, 4 up: other settings.
package main

import "github.com/cilium-docker/cilium-docker/cmd/internal/cli"

func main() { cli.Main("testbed", run) }
