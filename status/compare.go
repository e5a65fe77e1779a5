package status

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
)

// dockerEndpointID is the container-id of the plugin's agent endpoints: the Docker endpoint ID.
var dockerEndpointID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// compare lists the containers on the cilium networks with their agent endpoints, and reports a
// container without an endpoint, an endpoint not ready or without its labels, and an endpoint of the
// plugin's that no container explains.
func (c *Checker) compare(r *Report, av agentView, dv dockerView) {
	byAttachment := map[string]*models.Endpoint{}
	for _, ep := range av.eps {
		if id, _, ok := agent.Attachment(ep); ok {
			byAttachment[id] = ep
		}
	}
	explained := map[string]bool{}
	problems := 0
	for _, n := range dv.nets {
		if n.Driver != c.cfg.Driver {
			continue
		}
		for _, m := range n.Members {
			explained[m.EndpointID] = true
			row := Container{Name: m.Name, Network: n.Name, IPv4: m.IPv4, State: "agent not read"}
			name := "Container " + m.Name
			if av.err == nil {
				ep := byAttachment[m.EndpointID]
				if ep == nil {
					row.State = "no endpoint"
					problems++
					r.add(name, Failure, "docker restart "+m.Name+" (the plugin creates the endpoint when the container joins)",
						"on %s, Docker endpoint %.12s: the agent has no endpoint for it", n.Name, m.EndpointID)
				} else {
					c.fill(&row, ep)
					switch {
					case row.State != string(models.EndpointStateReady):
						problems++
						r.add(name, Warning, fmt.Sprintf("cilium-dbg endpoint get %d shows why; a rebuild takes seconds", row.EndpointID),
							"endpoint %d is %s", row.EndpointID, row.State)
					case slices.Contains(row.Labels, "reserved:init"):
						problems++
						r.add(name, Warning, "the plugin applies the labels from Docker's start event: check that it reaches Docker",
							"endpoint %d has no labels yet (reserved:init)", row.EndpointID)
					}
				}
			}
			r.Containers = append(r.Containers, row)
		}
	}
	if av.err != nil || dv.err != nil {
		return
	}
	for _, ep := range av.eps {
		id, ifname, ok := agent.Attachment(ep)
		if !ok || !dockerEndpointID.MatchString(id) || !strings.HasPrefix(ifname, "tmp") || explained[id] {
			continue
		}
		problems++
		r.add(fmt.Sprintf("Endpoint %d", ep.ID), Warning,
			fmt.Sprintf("the reconciler removes it; by hand: cilium-dbg endpoint delete %d", ep.ID),
			"agent endpoint of Docker endpoint %.12s: no container on a %s network has it", id, c.cfg.Driver)
	}
	if problems == 0 && len(r.Containers) > 0 {
		r.add("Containers", OK, "", "%d on %s networks, each with a ready endpoint under its labels", len(r.Containers), c.cfg.Driver)
	}
}

// fill copies the agent endpoint's ID, identity, labels and state into row.
func (c *Checker) fill(row *Container, ep *models.Endpoint) {
	row.EndpointID = ep.ID
	row.State = "unknown"
	if ep.Status == nil {
		return
	}
	if ep.Status.State != nil {
		row.State = string(*ep.Status.State)
	}
	if ep.Status.Identity != nil {
		row.Identity = ep.Status.Identity.ID
		for _, l := range ep.Status.Identity.Labels {
			// the namespace and cluster labels every container has say nothing of this one
			if !strings.HasPrefix(l, "k8s:io.kubernetes.pod.namespace=") && !strings.HasPrefix(l, "k8s:io.cilium.k8s.policy.cluster=") {
				row.Labels = append(row.Labels, l)
			}
		}
	}
}
