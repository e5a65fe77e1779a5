package driver

import (
	"context"
	"fmt"
	"sync"

	"github.com/cilium/cilium/api/v1/models"
	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/egress"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// EgressPolicies stores and removes the policies made from containers' allow-list labels
// (labels.EgressKey) where the node keeps its policies: the wiring runs the policy binary, which
// checks each document with Cilium's parser before it stores it.
type EgressPolicies interface {
	// Apply stores the policy document under name and returns once the node's agent can read it; a
	// document the policy binary refuses is an error that says why, and nothing is stored.
	Apply(ctx context.Context, name, document string) error
	Delete(ctx context.Context, name string) error
	// List returns the name of every policy stored, of every kind and node, from one complete read;
	// an error for anything less.
	List(ctx context.Context) ([]string, error)
}

// Egress counts the endpoints each generated policy serves, so that the last one's leaving removes
// it. Work on one policy name runs one at a time (a removal for the last endpoint that left never
// lands after the store for one that joined meanwhile, which would leave that container
// unrestricted); work on different names does not wait for each other. The counts live in memory and
// are derived again at start from the agent's endpoints (Restore).
type Egress struct {
	log   *logrus.Entry
	store EgressPolicies
	agent endpointLister
	node  string
	names nameLocks

	mu        sync.Mutex
	policyOf  map[endpoint.ID]string // guarded by mu
	users     map[string]int         // guarded by mu: endpoints per policy name
	restoring bool                   // guarded by mu: Restore runs
	left      map[endpoint.ID]bool   // guarded by mu: endpoints that left unknown while Restore ran
}

// endpointLister reads the agent's endpoints.
type endpointLister interface {
	Endpoints(ctx context.Context) ([]*models.Endpoint, error)
}

func newEgress(log *logrus.Entry, store EgressPolicies, ag endpointLister, node string) *Egress {
	return &Egress{log: log, store: store, agent: ag, node: node, policyOf: map[endpoint.ID]string{}, users: map[string]int{}}
}

// join stores the policy of ct's allow-list label value for endpoint eid, whose identity labels are
// identity (with the label's stamp), and counts eid among its users before it returns: from then on
// no removal takes it while eid's endpoint is being made. A bad label, or a document the policy
// binary refuses, is an error that names the label, and nothing is stored. When eid used another
// policy before (its identity changes), release removes that one if no endpoint uses it any more:
// call it once the endpoint has the new labels (until then the old policy still holds it).
func (r *Egress) join(ctx context.Context, eid endpoint.ID, ct dockerapi.Container, value string, identity []string) (release func(), err error) {
	entries, err := egress.Parse(value)
	if err != nil {
		return nil, fmt.Errorf("container %q: label %s: %w", ct.Name, egress.Key, err)
	}
	name := egress.Name(r.node, identity)
	doc := egress.Document(name, fmt.Sprintf("cilium-docker: the %s allow-list of the containers of this identity on node %s "+
		"(made at the start of %s; removed with the node's last such container)", egress.Key, r.node, ct.Name), identity, entries)
	unlock := r.names.lock(name)
	err = r.store.Apply(ctx, name, doc)
	old, users := "", 0
	if err == nil {
		old, users = r.claim(eid, name)
	}
	unlock()
	if err != nil {
		return nil, fmt.Errorf("container %q: label %s: %w", ct.Name, egress.Key, err)
	}
	r.log.WithFields(logrus.Fields{"container": ct.Name, "policy": name, "endpoints": users}).Info("egress allow-list applied")
	return func() {
		if old != "" {
			r.removeUnused(ctx, old, "its endpoint took another identity")
		}
	}, nil
}

// claim records eid as a user of name and returns the policy eid used before, if another.
func (r *Egress) claim(eid endpoint.ID, name string) (old string, users int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.policyOf[eid]; ok {
		if prev == name {
			return "", r.users[name] // a repeated Join
		}
		r.users[prev]--
		old = prev
	}
	r.policyOf[eid] = name
	r.users[name]++
	return old, r.users[name]
}

// Forget is leave for an agent endpoint the reconciler removed (no Leave came for it).
func (r *Egress) Forget(ctx context.Context, eid endpoint.ID) { r.leave(ctx, eid) }

// leave removes eid's claim on its policy; the last endpoint's leaving removes the policy.
func (r *Egress) leave(ctx context.Context, eid endpoint.ID) {
	r.mu.Lock()
	name, ok := r.policyOf[eid]
	if ok {
		delete(r.policyOf, eid)
		r.users[name]--
	} else if r.restoring {
		r.left[eid] = true // Restore may have read it before it left
	}
	r.mu.Unlock()
	if ok {
		r.removeUnused(ctx, name, "no container of this node has it")
	}
}

// removeUnused removes policy name unless an endpoint uses it, under name's lock: a Join that stores
// it meanwhile counts its endpoint before it lets go of the lock. It reports whether it removed it.
func (r *Egress) removeUnused(ctx context.Context, name, why string) bool {
	unlock := r.names.lock(name)
	defer unlock()
	r.mu.Lock()
	users := r.users[name]
	if users <= 0 {
		delete(r.users, name)
	}
	r.mu.Unlock()
	if users > 0 {
		return false
	}
	if err := r.store.Delete(context.WithoutCancel(ctx), name); err != nil {
		r.log.WithError(err).WithField("policy", name).Warn("remove an egress allow-list no endpoint uses; it selects no endpoint now")
		return false
	}
	r.log.WithField("policy", name).Info("egress allow-list removed: " + why)
	return true
}
