package driver

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/cilium/cilium/api/v1/models"
	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/dockerapi"
	"github.com/cilium-docker/cilium-docker/endpoint"
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
	policy endpoint.LabelPolicy
}

// NewLabelSync returns a label sync; Run starts it.
func NewLabelSync(log *logrus.Entry, a Agent, d Events, p endpoint.LabelPolicy) *LabelSync {
	return &LabelSync{log: log, agent: a, docker: d, policy: p}
}

// Run follows Docker's container start events until ctx is done, reconnecting with backoff.
func (s *LabelSync) Run(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	for {
		err := s.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		s.log.WithError(err).Debug("docker event stream ended; reconnecting")
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, 10*time.Second)
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
			ct, err := s.docker.Inspect(ctx, id)
			if err != nil {
				s.log.WithError(err).WithField("container", id).Debug("inspect started container")
				continue
			}
			for _, eid := range ct.Endpoints {
				ep, err := s.agent.Endpoint(ctx, agent.DockerEndpointID(eid))
				if errors.Is(err, agent.ErrNotFound) || eid == "" {
					continue // not one of ours
				}
				if err != nil {
					s.log.WithError(err).WithField("container", ct.Name).Warn("read endpoint for label sync")
					continue
				}
				s.apply(ctx, ct, ep)
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
	byDocker := map[string]*models.Endpoint{}
	for _, ep := range eps {
		if id := dockerEndpointID(ep); id != "" {
			byDocker[id] = ep
		}
	}
	for _, ct := range cts {
		for _, eid := range ct.Endpoints {
			if ep, ok := byDocker[eid]; ok && eid != "" {
				s.apply(ctx, ct, ep)
			}
		}
	}
	return nil
}

// apply sets the endpoint's user labels to the container's when they differ.
func (s *LabelSync) apply(ctx context.Context, ct dockerapi.Container, ep *models.Endpoint) {
	want, _ := s.policy.Convert(ct.Labels)
	have := userLabels(ep)
	// Compare as sets: Convert orders by key, the agent by label string ("app.x=" < "app=").
	if slices.Equal(slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(have))) {
		return
	}
	log := s.log.WithFields(logrus.Fields{"container": ct.Name, "endpoint": ep.ID, "labels": want})
	if err := s.agent.SetLabels(ctx, strconv.FormatInt(ep.ID, 10), want); err != nil {
		log.WithError(err).Warn("apply container labels")
		return
	}
	log.Info("applied container labels")
}

func dockerEndpointID(ep *models.Endpoint) string {
	if ep.Status == nil || ep.Status.ExternalIdentifiers == nil {
		return ""
	}
	return ep.Status.ExternalIdentifiers.DockerEndpointID
}

func userLabels(ep *models.Endpoint) []string {
	if ep.Status == nil || ep.Status.Labels == nil || ep.Status.Labels.Realized == nil {
		return nil
	}
	return slices.Clone(ep.Status.Labels.Realized.User)
}
