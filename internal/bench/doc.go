// Package bench is `make bench`'s measuring at scale (issue 20 point 5) in Go, on the test bed
// (internal/testbed's nodes, sockets and recorded PIDs; scripts/testbed.sh brings the nodes up): the
// current engine and agent pair of internal/matrix, this plugin against the default bridge of the same
// engine, with every percentile computed here (Percentile, nearest rank). Each row of its Report says
// whether its goal holds and, when it does not, which measurement says why. cmd/bench is its command.
//
// Only cmd/bench imports it (depguard: testbed-for-the-bed and matrix-for-the-bed name it).
package bench
