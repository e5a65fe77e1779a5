// Package e2e holds the end-to-end tests: they drive a real Docker engine and a real cilium-agent,
// brought up by scripts/testbed.sh, through the built plugin binary, and assert on what Docker, the
// agent and the kernel report. They are skipped under -short and need root.
package e2e
