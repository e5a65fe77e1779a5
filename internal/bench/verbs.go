package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// The bed's verbs beyond up and down-all, as scripts/testbed.sh prints them: env (the node's env file),
// pid (a daemon's PID while it runs) and exec (a command in the node's namespaces, with `docker` the
// node's CLI and `cilium` its agent's).

// parseEnv reads testbed.sh's env output, KEY=VALUE a line; other lines (up's progress) are skipped.
func parseEnv(out string) map[string]string {
	env := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, "=")
		if ok && k != "" && !strings.ContainsAny(k, " \t") {
			env[k] = v
		}
	}
	return env
}

// NodeEnv is node n's env (testbed.sh env N).
func (b *Bed) NodeEnv(ctx context.Context, n int) (map[string]string, error) {
	out, err := b.script(ctx, "env", strconv.Itoa(n))
	if err != nil {
		return nil, err
	}
	return parseEnv(out), nil
}

// DaemonPID is the PID of node n's daemon (etcd, agent, plugin, dockerd) while it runs (testbed.sh pid).
func (b *Bed) DaemonPID(ctx context.Context, n int, daemon string) (int, error) {
	out, err := b.script(ctx, "pid", strconv.Itoa(n), daemon)
	if err != nil {
		return 0, err
	}
	p, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return 0, fmt.Errorf("%s: node %d: pid of %s: %q: %w", b.Cfg.ID, n, daemon, out, err)
	}
	return p, nil
}

// Exec runs argv in node n's namespaces (testbed.sh exec N ARGV...) and returns its stdout.
func (b *Bed) Exec(ctx context.Context, n int, argv ...string) (string, error) {
	return b.script(ctx, append([]string{"exec", strconv.Itoa(n)}, argv...)...)
}
