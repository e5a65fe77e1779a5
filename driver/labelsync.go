package driver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/cilium/cilium/api/v1/models"
	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/backoff"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/endpoint"
	"github.com/cilium-docker/cilium-docker/labels"
)

// Events is what the label sync needs from Docker.
type Events interface {
	Starts(ctx context.Context) (<-chan string, <-chan error)
	Inspect(ctx context.Context, id string) (dockerapi.Container, error)
	Running(ctx context.Context) ([]dockerapi.Container, error)
}

// LabelSync keeps every agent endpoint's labels equal to its container's. Join normally sets them;
// the sync covers the joins that could not learn them (Docker API slow or down) and missed events:
// it resyncs every running container each time the event stream (re)connects.
type LabelSync struct {
	log    *logrus.Entry
	agent  Agent
	docker Events
	policy labels.Policy
	filter *agentFilter
	skip   *Labelled
	egress *Egress
}

// LabelSyncDeps is what a LabelSync is made of; every field is required.
type LabelSyncDeps struct {
	Log    *logrus.Entry
	Agent  Agent
	Docker Events
	Policy labels.Policy
	// Skip is the driver's record of the containers whose Join applied their labels: the sync passes
	// over their start events.
	Skip *Labelled
	// Egress stores the allow-list policies of the containers it labels: the driver's (Driver.Egress).
	Egress *Egress
}

// NewLabelSync returns a label sync; Run starts it.
func NewLabelSync(d LabelSyncDeps) *LabelSync {
	return &LabelSync{log: d.Log, agent: d.Agent, docker: d.Docker, policy: d.Policy, filter: &agentFilter{log: d.Log}, skip: d.Skip, egress: d.Egress}
}

// Run follows Docker's container start events until ctx is done, reconnecting with backoff.
func (s *LabelSync) Run(ctx context.Context) error {
	wait := backoff.New(250*time.Millisecond, 10*time.Second)
	for {
		err := s.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		s.log.WithError(err).Debug("docker event stream ended; reconnecting")
		if !wait.Wait(ctx) {
			return nil
		}
	}
}

// follow subscribes, resyncs everything, then applies each start event until the stream breaks.
func (s *LabelSync) follow(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ids, errs := s.docker.Starts(sctx)
	if err := s.Resync(ctx); err != nil {
		return err
	}
	for {
		select {
		case id, ok := <-ids:
			if !ok {
				return <-errs
			}
			if s.skip.take(id) {
				continue
			}
			ct, err := s.docker.Inspect(ctx, id)
			if err != nil {
				s.log.WithError(err).WithField("container", id).Debug("inspect started container")
				continue
			}
			for _, id := range ct.Endpoints {
				eid, err := endpoint.ParseID(id)
				if err != nil {
					continue // not an endpoint (Docker reports "" for a network without one)
				}
				ep, err := s.agent.Endpoint(ctx, AgentID(eid))
				if errors.Is(err, agent.ErrNotFound) {
					continue // not one of ours
				}
				if err != nil {
					s.log.WithError(err).WithField("container", ct.Name).Warn("read endpoint for label sync")
					continue
				}
				s.apply(ctx, ct, eid, ep)
			}
		case err := <-errs:
			return err
		}
	}
}

// Resync compares every running container with its agent endpoints and fixes the labels that differ.
func (s *LabelSync) Resync(ctx context.Context) error {
	cts, err := s.docker.Running(ctx)
	if err != nil {
		return err
	}
	eps, err := s.agent.Endpoints(ctx)
	if err != nil {
		return err
	}
	byDocker := map[endpoint.ID]*models.Endpoint{}
	for _, ep := range eps {
		if eid, ok := DockerEndpointID(ep); ok {
			byDocker[eid] = ep
		}
	}
	for _, ct := range cts {
		for _, id := range ct.Endpoints {
			eid, err := endpoint.ParseID(id)
			if err != nil {
				continue
			}
			if ep, ok := byDocker[eid]; ok {
				s.apply(ctx, ct, eid, ep)
			}
		}
	}
	return nil
}

// apply makes the endpoint's identity labels the container's. The agent keeps reserved:init beside the
// labels a PATCH adds to an endpoint created without labels, and drops it only on a PATCH that changes
// no label: an endpoint in that state gets the same labels a second time.
func (s *LabelSync) apply(ctx context.Context, ct dockerapi.Container, eid endpoint.ID, ep *models.Endpoint) {
	cfg, err := s.agent.Config(ctx)
	if err != nil {
		s.log.WithError(err).WithField("container", ct.Name).Warn("read agent configuration for label sync")
		return
	}
	want, _ := s.filter.policy(s.policy, cfg).Identity(ct.Labels, ct.ImageLabels, cfg.ClusterName)
	have, init := identityLabels(ep)
	// Compare as sets: Convert orders by key, the agent by label string ("app.x=" < "app=").
	same := slices.Equal(slices.Sorted(slices.Values(want)), have)
	if same && !init {
		s.log.WithFields(logrus.Fields{"container": ct.Name, "endpoint": ep.ID}).Debug("container labels up to date")
		return
	}
	log := s.log.WithFields(logrus.Fields{"container": ct.Name, "endpoint": ep.ID, "labels": want})
	// A container with an allow-list label: its policy is stored before its endpoint gets the stamped
	// labels, which the policy selects; until then the endpoint keeps the init identity, which the
	// agent holds to default deny both ways. If the label is bad or the store fails, it keeps it.
	release := func() {}
	if v, ok, _ := s.policy.Egress(ct.Labels, ct.ImageLabels); ok {
		var err error
		if release, err = s.egress.join(ctx, eid, ct, v, want); err != nil {
			log.WithError(err).Error("egress allow-list not stored: the endpoint keeps no labels (reserved:init, all its traffic " +
				"dropped) until it is; fix or remove the label and recreate the container")
			return
		}
	}
	// By attachment, not by the numeric ID read above: the agent reuses numeric IDs, so a patch by a
	// stale one could relabel another container's endpoint.
	id := AgentID(eid)
	if !same {
		if err := s.agent.SetLabels(ctx, id, want); err != nil {
			log.WithError(err).Warn("apply container labels")
			return
		}
	}
	if init {
		if err := s.agent.SetLabels(ctx, id, want); err != nil {
			log.WithError(err).Warn("apply container labels: drop reserved:init")
			return
		}
	}
	release() // the policy of the labels the endpoint had, if they had another
	log.Info("applied container labels")
}

// DockerEndpointID is the Docker endpoint an agent endpoint was created for: the container-id of its
// CNI attachment, when the interface name is the one the plugin derives from that ID. Endpoints of
// other creators (the host endpoint, a CNI plugin) answer false.
func DockerEndpointID(ep *models.Endpoint) (endpoint.ID, bool) {
	containerID, ifName, ok := agent.Attachment(ep)
	if !ok {
		return endpoint.ID{}, false
	}
	return endpoint.ParseAttachment(containerID, ifName)
}

// identityLabels returns the endpoint's container labels and the Kubernetes identity labels the plugin
// stamps, sorted, and whether it still carries
// reserved:init. Its security-relevant labels hold the labels given at create as well as those
// patched in later; its realized user labels only the latter.
func identityLabels(ep *models.Endpoint) (have []string, init bool) {
	if ep.Status == nil || ep.Status.Labels == nil {
		return nil, false
	}
	all := slices.Clone(ep.Status.Labels.SecurityRelevant)
	if r := ep.Status.Labels.Realized; r != nil {
		all = append(all, r.User...)
	}
	for _, l := range all {
		switch {
		case l == initLabel:
			init = true
		case strings.HasPrefix(l, labels.Source+":"), labels.IsStamped(l):
			have = append(have, l)
		}
	}
	slices.Sort(have)
	return slices.Compact(have), init
}

// initLabel marks an endpoint the agent created without labels.
const initLabel = "reserved:init"
