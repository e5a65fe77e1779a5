// Package testkit is the support the in-process tests share (unit tests, and the privileged tests of
// endpoint/): polling a condition with a deadline, and whether a process still runs. The end-to-end
// tests poll with e2e/bed's helper. Production code does not link it (.golangci.yml).
package testkit
