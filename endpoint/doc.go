// Package endpoint owns all kernel work of the plugin (the veth pair of each Docker endpoint, its MAC
// addresses, MTU and link state, done through netlink in the node's network namespace) and the endpoint
// model sent to cilium-agent; no other package of this module talks to netlink or netns.
package endpoint
