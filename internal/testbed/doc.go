// Package testbed is the test bed: real dockerd, cilium-agent, etcd (node 1) and the plugin under test
// per node, each node in a network namespace and a private mount namespace of its own, wired to a fabric
// bridge and an "outside" peer, never touching the host's network namespace.
//
// A node's up is a list of named steps (as kind's cluster create): the host state, the node's
// directory, the fabric, its netns, its mount namespace and mounts, then etcd, the agent, the plugin and
// dockerd, each waited for with the check that it did not exit during startup (as moby's
// testutil/daemon); its down runs in reverse. A node up in ModeStack runs only dockerd; its compose
// stack (Stack) is the repository's compose/ copied as the node's project with the .env compose/README.md
// asks for (StackEnv), run with `docker compose` in the node's namespaces. Each node keeps one JSON state file (NODE_DIR/node.json,
// State). Processes are recorded by PID and start time (a reused PID is never signalled) and stopped by
// PID (procstop). Commands on one bed are serialised by a lock (an flock of TESTBED_DIR/.lock).
//
// Its callers are cmd/testbed (the verbs, for people, make demo, the bench and CI; scripts/testbed.sh
// execs it), e2e/bed (in-process) and the bench (depguard: testbed-for-the-bed). The two steps that must
// run inside a node's namespaces (NodeMounts, AgentWrap) are cmd/testbed's hidden verbs, which the bed
// starts with nsenter (Config.Self).
package testbed
