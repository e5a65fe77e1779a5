package main

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

// drainPoll is how often the drain looks for links left; drainTail is how long it keeps serving after
// the last one went, for the calls that follow a DeleteEndpoint (ReleaseAddress).
const (
	drainPoll = 250 * time.Millisecond
	drainTail = time.Second
)

// drain keeps the socket serving for at most d after the stop signal, ending early once no host link
// of this plugin is left (every container on a cilium network was torn down) and drainTail passed.
// It returns at once for d = 0 or when ctx is done (the server stopped on its own).
func drain(ctx context.Context, log *logrus.Entry, links interface {
	ListOwned(ctx context.Context) ([]endpoint.Link, error)
}, d time.Duration) {
	if d <= 0 {
		return
	}
	log.WithField("drain", d).Info("stop signal: serving until the containers on cilium networks are torn down")
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	var idleSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			log.Info("drain over")
			return
		case <-tick.C:
			owned, err := links.ListOwned(ctx)
			now := time.Now() // after the look, not the tick's stamp: the tail counts from a look that found none
			switch {
			case err != nil || len(owned) > 0:
				idleSince = time.Time{}
			case idleSince.IsZero():
				idleSince = now
			case now.Sub(idleSince) >= drainTail:
				log.Info("drained: no container left on a cilium network")
				return
			}
		}
	}
}
