package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// server answers "pong" on TCP 8080, one connection after another (the e2e tests' server).
const server = "while true; do echo pong | nc -l -p 8080; done"

// policyJSON is a rule named name that lets name=bcli reach name=bsrv on TCP 8080.
func policyJSON(name string) string {
	return `[{"labels": [{"key": "name", "value": "` + name + `", "source": "unspec"}],
  "endpointSelector": {"matchLabels": {"name": "bsrv"}},
  "ingress": [{"fromEndpoints": [{"matchLabels": {"name": "bcli"}}],
    "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}]`
}

// applyPolicy writes the rule named name into dir and applies it with `cilium-docker policy apply` in
// node 1 (the bed's etcd is reachable only from the nodes).
func (b *Bed) applyPolicy(ctx context.Context, dir, name string) error {
	p := filepath.Join(dir, name+".json")
	if err := os.WriteFile(p, []byte(policyJSON(name)), 0o644); err != nil {
		return err
	}
	_, err := b.inNode(ctx, 1, b.Plugin, "policy", "apply", "--etcd-endpoints", b.node(1).EtcdURL, p)
	return err
}

// enforcedPhases waits until node n's agent holds the rule named name (its policy repository lists the
// rule with the label of the policy sync's file for it) and then until every endpoint labelled name=bsrv has realized that repository revision:
// the rule is enforced there. It returns both instants.
func (b *Bed) enforcedPhases(ctx context.Context, n int, name string) (imported, enforced time.Time, err error) {
	var rev int64
	for {
		body, err := b.agentGet(ctx, n, "/policy")
		if err != nil {
			return imported, enforced, err
		}
		var p struct {
			Revision int64  `json:"revision"`
			Policy   string `json:"policy"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return imported, enforced, fmt.Errorf("node %d: policy: %w", n, err)
		}
		if strings.Contains(p.Policy, "."+name+`.yaml"`) { // the policy sync's file, cilium-docker.ccnp.<name>.yaml

			imported, rev = time.Now(), p.Revision
			break
		}
		if err := pause(ctx, 20*time.Millisecond); err != nil {
			return imported, enforced, fmt.Errorf("node %d: rule %s never reached the agent: %w", n, name, err)
		}
	}
	for {
		eps, err := b.endpoints(ctx, n)
		if err != nil {
			return imported, enforced, err
		}
		behind := 0
		for _, e := range eps {
			if e.has("container:name=bsrv") && e.Status.Policy.Realized.Revision < rev {
				behind++
			}
		}
		if behind == 0 {
			return imported, time.Now(), nil
		}
		if err := pause(ctx, 20*time.Millisecond); err != nil {
			return imported, enforced, fmt.Errorf("node %d: %d endpoints never realized revision %d: %w", n, behind, rev, err)
		}
	}
}

// policyRound applies a new rule and returns, per node, the seconds from the apply's return to the rule
// in its agent and to its endpoints enforcing it.
func (b *Bed) policyRound(ctx context.Context, dir, name string, nodes int) (imported, enforced []float64, err error) {
	if err := b.applyPolicy(ctx, dir, name); err != nil {
		return nil, nil, err
	}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	imported, enforced = make([]float64, nodes), make([]float64, nodes)
	var mu sync.Mutex
	err = parallel(1, nodes+1, nodes, func(n int) error {
		i, e, err := b.enforcedPhases(ctx, n, name)
		mu.Lock()
		imported[n-1], enforced[n-1] = secs(i.Sub(t0)), secs(e.Sub(t0))
		mu.Unlock()
		return err
	})
	return imported, enforced, err
}

// reach starts a new server (name=bsrv) on node i and returns the seconds from the start of its
// `docker run -d` to its return and to node j's client (name=bcli) getting its pong.
func (b *Bed) reach(ctx context.Context, i, j int, name string) (returned, reached float64, err error) {
	t0 := time.Now()
	if _, err := b.docker(ctx, i, "run", "-d", "--pull", "never", "--name", name, "-l", "name=bsrv", "-l", "bench.reach=1",
		"--net", Net, Image, "sh", "-c", server); err != nil {
		return 0, 0, err
	}
	returned = secs(time.Since(t0))
	ip, err := b.docker(ctx, i, "inspect", "-f", `{{(index .NetworkSettings.Networks "`+Net+`").IPAddress}}`, name)
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := b.docker(ctx, j, "exec", fmt.Sprintf("bcli-%d", j), "sh", "-c",
		"until echo ping | nc -w 1 "+ip+" 8080 | grep -q pong; do :; done"); err != nil {
		return 0, 0, fmt.Errorf("node %d's client never reached %s on node %d: %w", j, ip, i, err)
	}
	return returned, secs(time.Since(t0)), nil
}

// memory is one node's stack: the agent (with its children), the plugin, its policy sync child, and
// the bed's one etcd (on node 1; the compose stack runs one on every node).
type memory struct {
	agent, plugin, child, etcd float64
}

func (m memory) total() float64 { return m.agent + m.plugin + m.child + m.etcd }

func (b *Bed) memory(n int) (memory, error) {
	var m memory
	a, err := b.pid(n, "agent")
	if err != nil {
		return m, err
	}
	if m.agent, err = treeRSSMiB(a); err != nil {
		return m, err
	}
	p, err := b.pid(n, "plugin")
	if err != nil {
		return m, err
	}
	if m.plugin, err = rssMiB(p); err != nil {
		return m, err
	}
	for _, c := range children(p) {
		if r, err := treeRSSMiB(c); err == nil {
			m.child += r
		}
	}
	e, err := b.pid(1, "etcd")
	if err != nil {
		return m, err
	}
	m.etcd, err = rssMiB(e)
	return m, err
}
