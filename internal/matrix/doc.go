// Package matrix is the one table of the test matrix: the versions the project runs against (the
// Docker engines, the cilium-agents, etcd, docker compose), the legs (an engine and an agent, run in
// this order, each full, subset or walkthrough), the agent the upgrade tests go to, and which e2e test
// runs on which leg (Tests). Everything that needs a version or a leg reads it here: cmd/testbed
// prints it for the scripts, internal/e2erun (testbed e2e, scripts/e2e.sh) takes its legs and each
// leg's go test -run pattern from it, and e2e/bed and the deploy/ checks import it. The current pair
// is written once, in versions.go.
//
// An e2e test declares its legs in Tests (tests.go); the package's own test parses e2e/*_test.go and
// fails on a Test function missing from the table or a table entry with no function. It imports the
// standard library only, and only the bed's code imports it (depguard).
package matrix
