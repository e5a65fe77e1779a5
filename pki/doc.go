// Package pki makes the cluster's etcd certificates with Go's crypto/x509: the CA (Dir.Init) and, per
// node, etcd's server certificate and the client certificates of cilium-agent, the plugin and the policy
// commands, with the agent's etcd.config file (Dir.Node). It owns the directory layout those files live
// in, the paths the compose services read them at (MountDir), and the checks of a node's name and
// address. It is a package of its own so that the key handling (ECDSA P-256, keys 0600 created
// exclusively, a node's files renamed into place together) is tested apart from the command line, which
// is its only importer (cmd/cilium-docker certs).
package pki
