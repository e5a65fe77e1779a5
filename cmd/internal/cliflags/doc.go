// Package cliflags holds what the command lines of the two binaries, cilium-docker (the plugin daemon)
// and cilium-docker-policy (Cilium's policy parser and the policy commands), share: the CILIUM_DOCKER_*
// environment for the flags not given, the etcd connection flags, comma lists and the node name. Only
// the mains use it.
package cliflags
