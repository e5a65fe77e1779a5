// Package podrange hands each node of the cluster its own pod range (the agent's --ipv4-range, and
// --ipv6-range when IPv6 is on) from one cluster pool kept in the cluster's etcd, so that nobody edits a
// POD_RANGE per node and no two nodes ever get the same addresses.
//
// The pool (an IPv4 CIDR split into one prefix per node, optionally an IPv6 one) and one claim per node
// live under one key prefix (DefaultPrefix). A node claims its range in one etcd transaction keyed by its
// name: the same node gets the same range on every start, and concurrent claims of different nodes never
// get the same one (the transaction only commits while nothing under the claims changed since it read
// them, and is retried a bounded number of times). A hand-set range is recorded as the node's claim, so
// the pool never hands it out. A range is freed only while no endpoint of Cilium's own kvstore state
// (cilium/state/ip/v1/default/<IP>) is inside it, unless forced.
//
// The package takes its etcd client from the wiring (policy/store dials it, with the agent's TLS files)
// and links into cilium-docker-policy only: the plugin daemon links no etcd client (.golangci.yml,
// cmd/cilium-docker's TestDaemonLinks). Every etcd call carries the configured deadline.
package podrange
