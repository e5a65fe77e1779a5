// Package testkit is the support the in-process tests share (unit tests, and the privileged tests of
// endpoint/): polling a condition with a deadline. The end-to-end tests have their own in e2e/bed.
// Production code does not link it (.golangci.yml).
package testkit
