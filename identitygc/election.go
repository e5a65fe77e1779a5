package identitygc

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ElectionPrefix is the etcd prefix of the collectors' election (concurrency.Election): beside Cilium's
// keys and the policies', one per etcd cluster, as Cilium's identities are.
const ElectionPrefix = "cilium-docker/identity-gc/v1/leader"

// electionTTL is the lease (seconds) of a collector's campaign: a collector that dies or loses etcd is
// replaced within it.
const electionTTL = 15

// Leader is a won election term.
type Leader struct {
	sess    *concurrency.Session
	el      *concurrency.Election
	timeout time.Duration
}

// Campaign blocks until this process (named node) is elected, or ctx ends.
func Campaign(ctx context.Context, cli *clientv3.Client, node string, timeout time.Duration) (*Leader, error) {
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(electionTTL), concurrency.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("identity gc election: session: %w", err)
	}
	el := concurrency.NewElection(sess, ElectionPrefix)
	if err := el.Campaign(ctx, node); err != nil {
		sess.Close()
		return nil, fmt.Errorf("identity gc election: campaign: %w", err)
	}
	return &Leader{sess: sess, el: el, timeout: timeout}, nil
}

// Context is ctx, also ended when the term's lease is lost (another collector may be elected then).
func (l *Leader) Context(ctx context.Context) context.Context {
	lctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		select {
		case <-l.sess.Done():
		case <-lctx.Done():
		}
	}()
	return lctx
}

// Resign ends the term: the next candidate is elected at once, not after the lease's TTL.
func (l *Leader) Resign() {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	_ = l.el.Resign(ctx) // best effort: closing the session revokes the lease anyway
	_ = l.sess.Close()
}
