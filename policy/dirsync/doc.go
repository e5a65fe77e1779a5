// Package dirsync keeps a cilium-agent's static policy directory (--static-cnp-path) equal to the
// cluster's policies in etcd (policy/store), on every node. It owns the files with its prefix and no
// others: each is written by atomic rename from a temporary name the agent ignores, checked again with
// Cilium's own parser (policy) first, so a document the agent would choke on is never written; it is
// reported in the node's status key and the log instead, and the other policies still apply. While
// etcd is unreachable the files stay as they are: only a complete listing removes anything.
package dirsync
