// Package identitygc runs Cilium's own garbage collection of security identities in the kvstore, the
// pass cilium-operator runs in its kvstore mode (operator/identitygc: the allocator's RunGC over the
// kvstore backend of pkg/kvstore/allocator), which a cluster without Kubernetes has no operator for.
//
// Exactly one collector acts at a time in the cluster: each runs an election with etcd's concurrency
// package (Leader), and only the leader runs passes (Collector). A pass removes a master key
// (cilium/state/identities/v1/id/<ID>) only when no slave key (…/value/<labels>/<node>) names its ID on
// two passes in a row with the master key unchanged in between: Cilium's own rule, in Cilium's own code.
// Slave keys live on their node's kvstore lease, so an identity used on a node that is down or cut off
// from etcd stays until that node's lease expires (DESIGN.md, "Identity garbage collection").
//
// The kvstore backend talks to etcd through Backend, a thin adapter over the etcd client the wiring
// dials (policy/store.Dial): the few operations RunGC uses, with the locks Cilium's etcd client takes
// (concurrency.Mutex on the same paths), and the configured deadline on every call. The package links
// into cilium-docker-policy only: the plugin daemon links no etcd client (.golangci.yml).
package identitygc
