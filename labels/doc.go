// Package labels is the plugin's identity label policy: which of a container's Docker labels become
// its Cilium identity labels (container:key=value), which are dropped and why, and the namespace Cilium
// shows the container under. It knows neither Docker's nor Cilium's API: driver/ hands it a container's
// labels and sends what it returns to the agent.
package labels
