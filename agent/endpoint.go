package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/cilium/api/v1/client/endpoint"
	"github.com/cilium/cilium/api/v1/models"
)

// newEndpointID asks the agent to choose the numeric endpoint ID.
const newEndpointID = "cilium-local:0"

// attachmentPrefix is the endpoint ID prefix both Cilium 1.19 and 1.20 accept for an endpoint's CNI
// attachment: its container-id and container-interface-name joined by ":". 1.20 removed the
// docker-endpoint:, container-id:, container-name: and pod-name: prefixes (cilium/cilium#46810).
const attachmentPrefix = "cni-attachment-id:"

// AttachmentID is the agent's lookup key for the endpoint created with containerID and
// containerIfName. Unlike the numeric endpoint ID, which the agent reuses, it names one attachment
// for the endpoint's whole life, across agent restarts and upgrades.
func AttachmentID(containerID, containerIfName string) string {
	return attachmentPrefix + attachment(containerID, containerIfName)
}

func attachment(containerID, containerIfName string) string {
	if containerIfName == "" {
		return containerID
	}
	return containerID + ":" + containerIfName
}

// Attachment returns the container ID and interface name an endpoint was created with, read from the
// CNI attachment ID that both 1.19 and 1.20 report in status.external-identifiers; ok is false
// when the endpoint has none (the host endpoint, for one).
func Attachment(ep *models.Endpoint) (containerID, containerIfName string, ok bool) {
	if ep == nil || ep.Status == nil || ep.Status.ExternalIdentifiers == nil {
		return "", "", false
	}
	id := ep.Status.ExternalIdentifiers.CniAttachmentID
	if id == "" {
		return "", "", false
	}
	containerID, containerIfName, _ = strings.Cut(id, ":")
	return containerID, containerIfName, true
}

// CreateEndpoint creates an endpoint (PUT /endpoint/cilium-local:0) and returns the agent's model of it.
// errors.Is(err, ErrExists) when the agent has an endpoint for the request's attachment already. At
// most Timeouts.ParallelCreates creates are in flight at once, so a burst of starts queues here instead
// of in the agent's API rate limiter; a create waits for its slot while the agent answers the creates
// ahead of it (createQueue), and has Timeouts.Create for its own request once it holds one.
func (c *Client) CreateEndpoint(ctx context.Context, req *models.EndpointChangeRequest) (*models.Endpoint, error) {
	release, err := c.creates.acquire(ctx, c.timeouts.Create)
	if err != nil {
		return nil, c.classify("create endpoint", err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, c.timeouts.Create)
	defer cancel()
	var ep *models.Endpoint
	err = c.do(ctx, c.timeouts.Create, "create endpoint", "", func(ctx context.Context) error {
		resp, err := c.api.Endpoint.PutEndpointID(endpoint.NewPutEndpointIDParamsWithContext(ctx).
			WithID(newEndpointID).WithEndpoint(req))
		if err != nil {
			return err
		}
		ep = resp.Payload
		return nil
	})
	if err == nil || statusCode(err) != 0 {
		c.creates.answer()
	}
	var failed *endpoint.PutEndpointIDFailed
	if errors.As(err, &failed) && strings.Contains(string(failed.Payload), "expiration timer") {
		return nil, fmt.Errorf("%w: %w", ErrNoExpirationTimer, err)
	}
	var invalid *endpoint.PutEndpointIDInvalid
	if errors.As(err, &invalid) && strings.Contains(string(invalid.Payload), "endpoint for CNI attachment ID") &&
		strings.Contains(string(invalid.Payload), "already exists") {
		return nil, fmt.Errorf("create endpoint %s: %w", attachment(req.ContainerID, req.ContainerInterfaceName), ErrExists)
	}
	return ep, err
}

// Endpoint returns the endpoint with the given ID in any of the forms both agent versions accept
// (numeric, AttachmentID, ipv4:<ip>, ...). errors.Is(err, ErrNotFound) when there is none.
func (c *Client) Endpoint(ctx context.Context, id string) (*models.Endpoint, error) {
	var ep *models.Endpoint
	err := c.do(ctx, c.timeouts.Call, "get endpoint", id, func(ctx context.Context) error {
		resp, err := c.api.Endpoint.GetEndpointID(endpoint.NewGetEndpointIDParamsWithContext(ctx).WithID(id))
		if err != nil {
			return err
		}
		ep = resp.Payload
		return nil
	})
	return ep, err
}

// Endpoints lists every endpoint of the agent, the host endpoint included.
func (c *Client) Endpoints(ctx context.Context) ([]*models.Endpoint, error) {
	var eps []*models.Endpoint
	err := c.do(ctx, c.timeouts.Call, "list endpoints", "", func(ctx context.Context) error {
		resp, err := c.api.Endpoint.GetEndpoint(endpoint.NewGetEndpointParamsWithContext(ctx))
		if err != nil {
			return err
		}
		eps = resp.Payload
		return nil
	})
	return eps, err
}

// DeleteEndpoint deletes the endpoint and says whether there was one: an endpoint that is already gone
// is success, with deleted false.
func (c *Client) DeleteEndpoint(ctx context.Context, id string) (deleted bool, err error) {
	err = c.do(ctx, c.timeouts.Call, "delete endpoint", id, func(ctx context.Context) error {
		_, _, err := c.api.Endpoint.DeleteEndpointID(endpoint.NewDeleteEndpointIDParamsWithContext(ctx).WithID(id))
		if statusCode(err) == 404 {
			deleted = false
			return nil
		}
		deleted = err == nil
		return err
	})
	return deleted, err
}

// SetLabels replaces the endpoint's user labels (PATCH /endpoint/{id}/labels), which changes its identity.
func (c *Client) SetLabels(ctx context.Context, id string, labels []string) error {
	return c.do(ctx, c.timeouts.Call, "set labels of endpoint", id, func(ctx context.Context) error {
		_, err := c.api.Endpoint.PatchEndpointIDLabels(endpoint.NewPatchEndpointIDLabelsParamsWithContext(ctx).
			WithID(id).WithConfiguration(&models.LabelConfigurationSpec{User: labels}))
		return err
	})
}
