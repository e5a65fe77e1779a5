package driver

import (
	"context"
	"fmt"
	"sync"

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
}

// egressRefs counts the endpoints of this process that each generated policy serves, and runs the
// stores and removals one at a time, so that a removal for the last endpoint that left never lands
// after the store for one that joined meanwhile (which would leave that container unrestricted).
type egressRefs struct {
	log      *logrus.Entry
	store    EgressPolicies
	node     string
	mu       sync.Mutex
	policyOf map[endpoint.ID]string // guarded by mu
	users    map[string]int         // guarded by mu: endpoints per policy name
}

func newEgressRefs(log *logrus.Entry, store EgressPolicies, node string) *egressRefs {
	return &egressRefs{log: log, store: store, node: node, policyOf: map[endpoint.ID]string{}, users: map[string]int{}}
}

// join stores the policy of ct's allow-list label, if it has one of its own, for endpoint eid, whose
// identity labels are identity (with the label's stamp). A bad label, or a document the policy binary
// refuses, is an error that names the label: Join fails, and nothing is stored.
func (r *egressRefs) join(ctx context.Context, eid endpoint.ID, ct dockerapi.Container, value string, identity []string) error {
	entries, err := egress.Parse(value)
	if err != nil {
		return fmt.Errorf("container %q: label %s: %w", ct.Name, egress.Key, err)
	}
	name := egress.Name(r.node, identity)
	doc := egress.Document(name, fmt.Sprintf("cilium-docker: the %s allow-list of the containers of this identity on node %s "+
		"(made at the start of %s; removed with the node's last such container)", egress.Key, r.node, ct.Name), identity, entries)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.store.Apply(ctx, name, doc); err != nil {
		return fmt.Errorf("container %q: label %s: %w", ct.Name, egress.Key, err)
	}
	if old, ok := r.policyOf[eid]; ok && old == name {
		return nil // a repeated Join
	} else if ok {
		r.releaseLocked(ctx, eid, old)
	}
	r.policyOf[eid] = name
	r.users[name]++
	r.log.WithFields(logrus.Fields{"container": ct.Name, "policy": name, "endpoints": r.users[name]}).Info("egress allow-list applied")
	return nil
}

// leave removes eid's claim on its policy; the last endpoint's leaving removes the policy.
func (r *egressRefs) leave(ctx context.Context, eid endpoint.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name, ok := r.policyOf[eid]; ok {
		r.releaseLocked(ctx, eid, name)
	}
}

func (r *egressRefs) releaseLocked(ctx context.Context, eid endpoint.ID, name string) {
	delete(r.policyOf, eid)
	r.users[name]--
	if r.users[name] > 0 {
		return
	}
	delete(r.users, name)
	if err := r.store.Delete(context.WithoutCancel(ctx), name); err != nil {
		r.log.WithError(err).WithField("policy", name).Warn("remove the egress allow-list of the last container that had it; it selects no endpoint now")
		return
	}
	r.log.WithField("policy", name).Info("egress allow-list removed: no container of this node has it")
}
