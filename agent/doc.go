// Package agent is the plugin's typed client of the cilium-agent REST API. It is a package of its own
// because both the driver and the IPAM core need it; it puts a deadline on every call, retries the
// agent's rate-limit answers (429) with jittered backoff inside that deadline, and turns transport
// failures into one clear "not reachable" error.
package agent
