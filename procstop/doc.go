// Package procstop stops a process this program started: SIGTERM, then SIGKILL after a grace, by its
// *os.Process (a PID the caller owns). It is the one stop-by-PID of the project, for the daemon's
// supervised child (supervise/) and the test bed's daemons (internal/testbed, e2e/bed), and a package of
// its own so that the bed reaches it without importing the supervisor: it imports no package of the
// project.
package procstop
