package agent

import (
	"context"
	"fmt"

	"github.com/cilium/cilium/api/v1/client/endpoint"
	"github.com/cilium/cilium/api/v1/models"
)

// newEndpointID asks the agent to choose the numeric endpoint ID.
const newEndpointID = "cilium-local:0"

// DockerEndpointID is the agent's lookup key for an endpoint created with docker-endpoint-id.
func DockerEndpointID(id string) string { return "docker-endpoint:" + id }

// CreateEndpoint creates an endpoint (PUT /endpoint/cilium-local:0) and returns the agent's model of it.
func (c *Client) CreateEndpoint(ctx context.Context, req *models.EndpointChangeRequest) (*models.Endpoint, error) {
	var ep *models.Endpoint
	err := c.do(ctx, c.timeouts.Create, "create endpoint", func(ctx context.Context) error {
		resp, err := c.api.Endpoint.PutEndpointID(endpoint.NewPutEndpointIDParamsWithContext(ctx).
			WithID(newEndpointID).WithEndpoint(req))
		if err != nil {
			return err
		}
		ep = resp.Payload
		return nil
	})
	return ep, err
}

// Endpoint returns the endpoint with the given ID in any of the agent's forms (numeric,
// docker-endpoint:<id>, ...). errors.Is(err, ErrNotFound) when there is none.
func (c *Client) Endpoint(ctx context.Context, id string) (*models.Endpoint, error) {
	var ep *models.Endpoint
	err := c.do(ctx, c.timeouts.Call, fmt.Sprintf("get endpoint %s", id), func(ctx context.Context) error {
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
	err := c.do(ctx, c.timeouts.Call, "list endpoints", func(ctx context.Context) error {
		resp, err := c.api.Endpoint.GetEndpoint(endpoint.NewGetEndpointParamsWithContext(ctx))
		if err != nil {
			return err
		}
		eps = resp.Payload
		return nil
	})
	return eps, err
}

// DeleteEndpoint deletes the endpoint; one that is already gone is success.
func (c *Client) DeleteEndpoint(ctx context.Context, id string) error {
	return c.do(ctx, c.timeouts.Call, fmt.Sprintf("delete endpoint %s", id), func(ctx context.Context) error {
		_, _, err := c.api.Endpoint.DeleteEndpointID(endpoint.NewDeleteEndpointIDParamsWithContext(ctx).WithID(id))
		if statusCode(err) == 404 {
			return nil
		}
		return err
	})
}

// SetLabels replaces the endpoint's user labels (PATCH /endpoint/{id}/labels), which changes its identity.
func (c *Client) SetLabels(ctx context.Context, id string, labels []string) error {
	return c.do(ctx, c.timeouts.Call, fmt.Sprintf("set labels of endpoint %s", id), func(ctx context.Context) error {
		_, err := c.api.Endpoint.PatchEndpointIDLabels(endpoint.NewPatchEndpointIDLabelsParamsWithContext(ctx).
			WithID(id).WithConfiguration(&models.LabelConfigurationSpec{User: labels}))
		return err
	})
}
