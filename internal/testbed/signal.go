package testbed

import (
	"fmt"
	"syscall"
)

// signals are the names the bed's signal verb takes (without SIG).
var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "KILL": syscall.SIGKILL,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "TERM": syscall.SIGTERM, "CONT": syscall.SIGCONT,
	"STOP": syscall.SIGSTOP,
}

// ParseSignal reads a signal name without SIG, e.g. STOP, CONT, KILL.
func ParseSignal(name string) (syscall.Signal, error) {
	s, ok := signals[name]
	if !ok {
		return 0, fmt.Errorf("signal %q: want HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT or STOP", name)
	}
	return s, nil
}

func sigName(sig syscall.Signal) string {
	for n, s := range signals {
		if s == sig {
			return "SIG" + n
		}
	}
	return sig.String()
}
