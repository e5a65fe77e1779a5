// Package testbed is the test bed's machinery in Go: the bed's naming and addresses (Config, Node), its
// processes recorded by PID and start time (so a reused PID is never signalled) and stopped by PID, what
// the bed changes on the host (global sysctls, empty mount points, the nodes' cgroups), and the fabric
// (the bridge netns, the "outside" peer, each node's netns and eth0).
//
// It replaces scripts/testbed/*.sh step by step; scripts/testbed.sh calls the parts already ported
// through cmd/testbed's plumbing verbs (_pid, _launch, _fabric, ...). Only cmd/testbed, e2e/bed and
// tests import it (depguard: testbed-for-the-bed).
package testbed
