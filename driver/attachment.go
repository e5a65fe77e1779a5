package driver

import (
	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

// attachment is one container attached to one Docker network: what the agent endpoint is made of.
type attachment struct {
	EndpointID endpoint.ID
	NetworkID  endpoint.NetworkID
	// Container and Namespace name the container for Cilium (its k8s-pod-name and k8s-namespace, which
	// Hubble shows as namespace/name on every node); empty when Docker could not tell yet.
	Container, Namespace string
	Link                 *endpoint.Link
	IPv4UUID, IPv6UUID   string // the agent's address expiration UUIDs, when this process allocated them
	Labels               []string
}

// changeRequest is the agent's endpoint create request for the attachment. It asks the agent to
// answer only after the endpoint's datapath is built (sync-build-endpoint), so the endpoint is ready
// under its identity before the container's process starts.
func (a attachment) changeRequest() *models.EndpointChangeRequest {
	state := models.EndpointStateWaitingDashForDashIdentity
	addr := &models.AddressPair{}
	if a.Link.IPv4.IsValid() {
		addr.IPv4 = a.Link.IPv4.String()
		if a.IPv4UUID != "" {
			addr.IPv4ExpirationUUID = a.IPv4UUID
			addr.IPv4PoolName = "default"
		}
	}
	if a.Link.IPv6.IsValid() {
		addr.IPv6 = a.Link.IPv6.String()
		if a.IPv6UUID != "" {
			addr.IPv6ExpirationUUID = a.IPv6UUID
			addr.IPv6PoolName = "default"
		}
	}
	r := &models.EndpointChangeRequest{
		// The agent keys attachments by container-id + container-interface-name (cni-attachment-id,
		// the one lookup key Cilium 1.19 and 1.20 share). The Docker endpoint ID goes in container-id:
		// the plugin can derive both from the endpoint ID alone on every later call, and it never
		// changes. The interface name is the per-endpoint SrcName, distinct for a container on two
		// cilium networks. container-name, docker-endpoint-id and docker-network-id are left out:
		// 1.20 removed them (cilium/cilium#46709).
		ContainerID:            a.EndpointID.String(),
		ContainerInterfaceName: a.Link.Container,
		InterfaceName:          a.Link.Host,
		InterfaceIndex:         int64(a.Link.HostIndex),
		Mac:                    a.Link.ContainerMAC.String(),
		HostMac:                a.Link.HostMAC.String(),
		Addressing:             addr,
		Labels:                 models.Labels(a.Labels),
		State:                  &state,
		SyncBuildEndpoint:      true,
	}
	if a.Container != "" && a.Namespace != "" {
		r.K8sNamespace, r.K8sPodName = a.Namespace, a.Container
	}
	return r
}
