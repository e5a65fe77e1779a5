// Package supervise runs one child process for the plugin daemon: it starts the child, restarts it with
// backoff when it ends, hands each line of its standard output to a callback, and stops it by its PID
// (SIGTERM, then SIGKILL) when the daemon stops. The policy sync runs this way, in the policy binary, so
// that the daemon links neither Cilium's policy parser nor the etcd client. It is a package because
// process ownership (one child, one owner, a stop) is a concern of its own, tested without the daemon.
package supervise
