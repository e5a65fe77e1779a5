package bench

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// machine is what the side-by-side header says of the host.
type machine struct {
	cores  int
	model  string  // /proc/cpuinfo's first model name
	memGiB float64 // MemTotal
	kernel string
	load   string // the load average's first three fields
}

func readMachine() machine {
	m := machine{cores: runtime.NumCPU()}
	m.model = procField("/proc/cpuinfo", "model name", ": ")
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal", ":"), " kB"), 64); err == nil {
		m.memGiB = kb / (1 << 20)
	}
	k, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	m.kernel = strings.TrimSpace(string(k))
	l, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(l)); len(f) >= 3 {
		m.load = strings.Join(f[:3], " ")
	}
	return m
}

// procField is the value after sep of the first line of file that starts with key, trimmed.
func procField(file, key, sep string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, key) {
			if _, v, ok := strings.Cut(l, sep); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}
