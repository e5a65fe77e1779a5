// Package bed is the e2e tests' one handle on the test bed (internal/testbed, called in-process; the
// steps inside a node's namespaces are bin/testbed's, make build): it brings nodes up with
// the engine and agent versions of the matrix leg chosen by E2E_LEG, hands out each node's Docker and
// cilium-agent clients, restarts, stops, freezes and kills each node daemon, tails the node logs when a
// test fails, and holds the one poll helper, Eventually, and the checks the tests share (leaks,
// connectivity, policy enforcement). Only this package knows the bed's files (a node's state, its log
// layout); it is imported by e2e only. The shape follows moby's testutil/daemon.
package bed
