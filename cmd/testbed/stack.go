package main

import (
	"fmt"
	"strings"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/testbed"
)

// stack NODE DIR PKI ETCD_IPS [KEY=VALUE...]: node NODE's compose project in DIR (a copy of compose/ with
// the .env compose/README.md asks for: the node's name, address, device and range, the etcd members at
// ETCD_IPS, comma-separated, the certificates in PKI, the agent's version; KEY=VALUE adds or overrides,
// KEY= empties). It prints the .env.
func stack(c testbed.Config, a []string, s cli.IO) error {
	st, err := nodeState(c, a[0])
	if err != nil {
		return err
	}
	env, err := testbed.StackEnv(st, strings.Split(a[3], ","), a[2])
	if err != nil {
		return err
	}
	for _, kv := range a[4:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return cli.Usage(fmt.Errorf("want KEY=VALUE, got %q", kv))
		}
		env[k] = v
	}
	stk, err := c.NewStack(st.Node, a[1], env)
	if err != nil {
		return err
	}
	for _, kv := range stk.EnvLines() {
		if _, err := fmt.Fprintln(s.Out, kv); err != nil {
			return err
		}
	}
	return nil
}
