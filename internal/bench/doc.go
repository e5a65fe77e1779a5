// Package bench is `make bench`'s measuring at scale (issue 20 point 5) in Go, on the test bed
// (internal/testbed in-process: its nodes, their state, sockets and recorded PIDs): the
// current engine and agent pair of internal/matrix, this plugin against the default bridge of the same
// engine, with every percentile computed here (Percentile, nearest rank). Each row of its Report says
// whether its goal holds and, when it does not, which measurement says why. It also holds `make
// bench-upstream` (Upstream): this plugin beside the upstream plugin and the default bridge on two
// single-node beds of Docker 20.10 and Cilium 1.19, which writes BENCHMARKS.md's side by side.
// cmd/bench is its command.
//
// Only cmd/bench imports it (depguard: testbed-for-the-bed and matrix-for-the-bed name it).
package bench
