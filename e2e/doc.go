// Package e2e holds the end-to-end tests: the built plugin binary against a real Docker engine and a real
// cilium-agent in test-bed nodes (internal/testbed, driven through the harness in e2e/bed), asserting
// on what Docker, the agent and the kernel report; and the binary's own lifecycle against a fake agent.
// The matrix leg (engine and agent versions) comes from E2E_LEG (scripts/e2e.sh runs every leg). Each
// test declares the legs it runs on in internal/matrix (tests.go): a new test without an entry there
// fails the unit tier, and a leg runs exactly the tests the table gives it (go test -run). The
// tests need root and are skipped under -short. The deployment-file checks that need no bed are in
// deploy/.
package e2e
