// Package reconcile is the plugin's garbage collector: it removes the host links, agent endpoints,
// agent addresses and published ports this plugin made that no Docker endpoint explains any more
// (Docker forgets an endpoint, or keeps only a stale record of it, when the plugin is down while a
// container stops or is removed). A Docker endpoint explains the state of its ID and its addresses
// whatever the driver of its network: every instance of the plugin on a node (the process plugin as
// "cilium", the managed plugin as "cilium-docker:latest") makes the same kind of state, so every
// network Docker lists is read, and a pass that cannot read one removes nothing. It is a package of its
// own because it is the one place that reads all three outside systems (Docker, cilium-agent, the
// kernel) at once, and its safety rules (two complete passes, the handlers' in-flight set, a hold-off
// after start) must live next to each other to be checked.
package reconcile
