// Package hubble reads flows from the node's Hubble server (cilium-agent with --enable-hubble) over its
// observer gRPC API on a unix socket, and turns them into plain Flow values with the container names of
// both sides. It is the only importer of the observer and flow API and of gRPC: the rest of the plugin
// knows no protobuf. Containers are named as the plugin names them in Cilium (k8s-namespace/k8s-pod-name),
// which Hubble reports on every node, for containers of other nodes too (through the kvstore's ipcache).
package hubble
