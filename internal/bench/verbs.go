package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// The bed's verbs beyond up and down-all, in-process: env (the node's state), pid (a daemon's PID while
// it runs) and exec (a command in the node's namespaces, with `docker` the node's CLI and `cilium` its
// agent's).

// NodeEnv is node n's env (its state as KEY=VALUE).
func (b *Bed) NodeEnv(_ context.Context, n int) (map[string]string, error) {
	st, err := testbed.LoadState(b.node(n))
	if err != nil {
		return nil, err
	}
	return st.EnvMap(), nil
}

// DaemonPID is the PID of node n's daemon (etcd, agent, plugin, dockerd) while it runs.
func (b *Bed) DaemonPID(_ context.Context, n int, daemon string) (int, error) {
	p, ok, err := b.Cfg.PID(n, daemon)
	if err == nil && !ok {
		err = fmt.Errorf("%s: node %d: %s does not run", b.Cfg.ID, n, daemon)
	}
	return p, err
}

// Exec runs argv in node n's namespaces and returns its stdout.
func (b *Bed) Exec(ctx context.Context, n int, argv ...string) (string, error) {
	cmd, err := b.Cfg.Command(ctx, n, argv...)
	if err != nil {
		return "", err
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: node %d: %s: %w: %s", b.Cfg.ID, n, strings.Join(argv, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
