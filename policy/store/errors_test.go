package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

func TestCallErrorNamesTheQuorum(t *testing.T) {
	other := errors.New("etcdserver: request is too large")
	for _, c := range []struct {
		err  error
		hint bool
	}{{context.DeadlineExceeded, true}, {rpctypes.ErrNoLeader, true}, {rpctypes.ErrGRPCNoLeader, true}, {other, false}} {
		got := callError(`put "p"`, c.err)
		if !errors.Is(got, c.err) {
			t.Errorf("%v: %v does not wrap it", c.err, got)
		}
		if !strings.HasPrefix(got.Error(), `etcd put "p": `) || strings.Contains(got.Error(), noQuorum) != c.hint {
			t.Errorf("%v: %q, want the call and the quorum hint %v", c.err, got, c.hint)
		}
	}
}
