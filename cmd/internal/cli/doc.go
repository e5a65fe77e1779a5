// Package cli owns the one shape of both binaries' command lines: a command table dispatched on the
// first argument (Table), the streams a command gets (IO), and what an error means to the shell
// (ExitCode: 0 ok or --help, 2 a command line that cannot be parsed, 1 anything else, or a child's own
// code), with Main as the whole of each main function. It is a package so that cilium-docker and
// cilium-docker-policy cannot drift apart: a usage error exits 2 in both, and `cilium-docker policy` is
// one entry of the daemon's table. It defines no flag: flags live in the mains' packages (and the ones
// both share in cmd/internal/cliflags). Only the mains import it (depguard).
package cli
