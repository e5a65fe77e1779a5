// Package driver is the plugin's NetworkDriver: CreateEndpoint makes the veth pair, Join creates the
// Cilium endpoint under the container's labels before the container runs, Leave and DeleteEndpoint
// undo exactly what their partners did, and a label sync applies labels Join could not learn.
package driver
