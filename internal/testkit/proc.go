package testkit

import (
	"os"
	"strconv"
	"strings"
)

// Running reports whether process pid runs: it is listed in /proc and is not a zombie (one that exited
// and waits for its parent to reap it).
func Running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(b), ") Z ")
}
