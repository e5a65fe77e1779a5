// Package policycheck runs Cilium's policy parser in a process of its own for the plugin daemon, which
// does not link it: the parser (package policy, with Kubernetes apimachinery and much of the agent's
// code) costs a process about 12 MB of resident memory from package initialisation alone. Exec sends a
// batch of stored documents to `cilium-docker-policy check-stored` on stdin and reads one verdict per
// document from its stdout, under a deadline; Serve is that command's side, with the check injected. The
// wire format (Request, Response) lives here only, so both sides change together.
//
// The package links no parser and no I/O beyond the child's pipes; it knows the command line of the
// check, not the policy rules.
package policycheck
