// Command testbed is the test bed's command line, for people, make and the scripts. Today it prints
// the test matrix of internal/matrix: the legs, each leg's go test -run pattern and tests, the agents
// a leg's bed needs, the versions, and the long test, so that the build, demo and bench scripts read
// the one table; and it runs the e2e tier (e2e, internal/e2erun; scripts/e2e.sh execs it). It is the
// home the bed's own verbs (up, down, exec, ...) move to from scripts/testbed.sh; meanwhile its
// plumbing verbs (_pid, _launch, _stop, _fabric, ..., not for people) run the parts of the bed already
// in Go (internal/testbed) for scripts/testbed/gobed.sh.
// Exit codes: 0 ok, 1 refused (a leg not in the matrix) or failed, 2 usage.
package main

import "github.com/cilium-docker/cilium-docker/cmd/internal/cli"

func main() { cli.Main("testbed", run) }
