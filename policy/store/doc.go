// Package store keeps the cluster's policies in the cluster's own etcd (the one the cilium-agents
// use as their kvstore): one key per policy under one prefix, with etcd's revisions, and one status key
// per node saying which revision it applied and what it refused. It is the only importer of the etcd
// client (.golangci.yml), and every call it makes carries a deadline.
package store
