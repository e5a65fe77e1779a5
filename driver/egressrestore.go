package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/backoff"
	"github.com/cilium-docker/cilium-docker/egress"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/labels"
)

// Restore derives the counts of a previous process from one read of the agent's endpoints (each
// stamped endpoint of this plugin uses the policy its identity labels name), then removes the
// generated policies of this node that no endpoint uses: those whose last container left while no
// plugin ran, or whose Join the previous process did not finish. It removes nothing unless both reads
// are complete: the list of stored policies and the agent's endpoints, each of ours with its labels.
// A policy a Join or the label sync is storing, or has stored for an endpoint not made yet, is counted
// in memory and kept. Run it once at start; an error says what was not read, and it may run again.
func (r *Egress) Restore(ctx context.Context) (removed int, err error) {
	r.mu.Lock()
	r.restoring, r.left = true, map[endpoint.ID]bool{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.restoring, r.left = false, nil
		r.mu.Unlock()
	}()
	stored, lerr := r.store.List(ctx)
	eps, err := r.agent.Endpoints(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the agent's endpoints: %w", err)
	}
	used, complete := r.usedBy(eps)
	r.mu.Lock()
	for eid, name := range used {
		if _, known := r.policyOf[eid]; !known && !r.left[eid] {
			r.policyOf[eid] = name
			r.users[name]++
		}
	}
	r.mu.Unlock()
	switch {
	case lerr != nil:
		return 0, fmt.Errorf("list the stored policies: %w", lerr)
	case !complete:
		return 0, errors.New("the agent reports an endpoint of this plugin without its labels: no policy is removed")
	}
	mine := egress.NodePrefix(r.node)
	for _, name := range stored {
		if strings.HasPrefix(name, mine) && r.removeUnused(ctx, name, "no endpoint of this node uses it (left while no plugin ran)") {
			removed++
		}
	}
	return removed, nil
}

// usedBy maps each stamped endpoint of this plugin to the policy it uses; complete is false when an
// endpoint of ours comes without its labels, which may hide a stamp.
func (r *Egress) usedBy(eps []*models.Endpoint) (used map[endpoint.ID]string, complete bool) {
	used, complete = map[endpoint.ID]string{}, true
	for _, ep := range eps {
		eid, ok := DockerEndpointID(ep)
		if !ok {
			continue
		}
		if ep.Status == nil || ep.Status.Labels == nil {
			complete = false
			continue
		}
		have, _ := identityLabels(ep)
		for _, l := range have {
			if labels.IsEgressStamp(l) {
				used[eid] = egress.Name(r.node, have)
				break
			}
		}
	}
	return used, complete
}

// Run runs Restore until it had complete reads, with backoff between tries, or until ctx ends.
func (r *Egress) Run(ctx context.Context) error {
	wait := backoff.New(time.Second, 30*time.Second)
	for {
		n, err := r.Restore(ctx)
		if err == nil {
			r.log.WithField("removed", n).Info("egress allow-lists' counts derived from the agent's endpoints")
			return nil
		}
		r.log.WithError(err).Warn("derive the egress allow-lists' counts from the agent's endpoints; trying again")
		if !wait.Wait(ctx) {
			return nil
		}
	}
}
