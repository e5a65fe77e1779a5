package store

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// noQuorum is what an etcd call that got no answer most likely means with several members: fewer than a
// majority of them are up and reachable (etcd then takes no writes and no linearizable reads), or none is.
const noQuorum = "no answer from a majority of the etcd members: is etcd up, with most of its members, and reachable?"

// callError is the error of the etcd call what (put "KEY", list policies ...), with noQuorum added when
// etcd did not answer: the call's deadline passed, or the member reached has no leader (calls carry
// WithRequireLeader). The cause stays wrapped.
func callError(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrGRPCNoLeader) {
		return fmt.Errorf("etcd %s: %w (%s)", what, err, noQuorum)
	}
	return fmt.Errorf("etcd %s: %w", what, err)
}
