// Package backoff is the wait between the attempts of the plugin's reconnecting loops (the label sync's
// event stream, the policy sync's etcd watch, the supervised child): exponential, capped, jittered, and
// cut short by the loop's context. One implementation, so the loops cannot drift apart.
package backoff
