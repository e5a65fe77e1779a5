// Package endpoint owns all kernel work of the plugin: the veth pair of each Docker endpoint, its MAC
// addresses, MTU and link state, done through netlink in the node's network namespace, and the
// published ports of docker run -p (Ports: DNAT rules in the nftables table `ip cilium-docker` and a
// bound socket per host port). No other package of this module talks to netlink, nftables or netns
// (.golangci.yml holds this), and this one talks to nothing else: no Cilium or Docker API.
package endpoint
