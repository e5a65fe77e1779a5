// Package endpoint owns all kernel work of the plugin: the veth pair of each Docker endpoint, its MAC
// addresses, MTU and link state, done through netlink in the node's network namespace. No other
// package of this module talks to netlink or netns (.golangci.yml holds this), and this one talks to
// nothing else: no Cilium or Docker API.
package endpoint
