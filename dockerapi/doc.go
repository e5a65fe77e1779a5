// Package dockerapi is the plugin's only user of the Docker Engine API: it finds the name and labels
// of the container behind an endpoint at Join without inspecting the starting container (which would
// deadlock dockerd), streams container start events for the label sync, and reads every network's
// endpoints (whatever its driver) and every container's name for the reconciler. It is a package of its
// own so that the driver depends on two small methods, not on the Docker client.
package dockerapi
