package driver

import (
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/labels"
)

// agentFilter joins the plugin's label policy with cilium-agent's own label filter, so the plugin
// asks for exactly the identity the agent makes: a label the agent leaves out would fail an endpoint
// create with nothing else ("no valid labels provided") or be patched again on every resync.
type agentFilter struct {
	log  *logrus.Entry
	once sync.Map // error text -> struct{}: each filter problem is logged once
}

// policy is p with the agent's filter for cfg's label rules. When the filter cannot be built (a rule
// file the plugin cannot read), p filters by its own rules alone.
func (f *agentFilter) policy(p labels.Policy, cfg *agent.Config) labels.Policy {
	lf, err := agent.NewLabelFilter(cfg.LabelPrefixes, cfg.LabelPrefixFile)
	if err != nil {
		if _, seen := f.once.LoadOrStore(err.Error(), struct{}{}); !seen {
			f.log.WithError(err).Warn("cilium-agent's label filter: container labels may disagree with the identities the agent makes")
		}
	}
	if lf != nil {
		p.Agent = func(k, v string) bool { return lf.Keep(labels.Source, k, v) }
	}
	return p
}
