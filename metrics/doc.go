// Package metrics owns the plugin's Prometheus metrics and the optional listener that serves them
// with /healthz. It is a package because three floors feed it: the server observes protocol calls,
// the agent and Docker clients observe their calls, and the cores publish gauges. Every metric lives
// in one registry per process (no package-level state), with the Go runtime and process collectors
// beside them (goroutines, open fds, resident memory), which the churn benchmark reads.
package metrics
