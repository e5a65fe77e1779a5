package endpoint

import (
	"github.com/cilium/cilium/api/v1/models"
)

// Attachment is one container attached to one Docker network: what the agent endpoint is made of.
type Attachment struct {
	EndpointID, NetworkID  string
	ContainerID, Container string // container ID and name; empty when Docker could not tell yet
	Link                   *Link
	IPv4UUID, IPv6UUID     string // the agent's address expiration UUIDs, when this process allocated them
	Labels                 []string
}

// ChangeRequest is the agent's endpoint create request for the attachment. It asks the agent to
// answer only after the endpoint's datapath is built (sync-build-endpoint), so the endpoint is ready
// under its identity before the container's process starts.
func (a Attachment) ChangeRequest() *models.EndpointChangeRequest {
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
	return &models.EndpointChangeRequest{
		ContainerID:   a.ContainerID,
		ContainerName: a.Container,
		// The agent keys attachments by container ID + interface name: a container on two cilium
		// networks needs a distinct name per attachment.
		ContainerInterfaceName: a.Link.Container,
		DockerEndpointID:       a.EndpointID,
		DockerNetworkID:        a.NetworkID,
		InterfaceName:          a.Link.Host,
		InterfaceIndex:         int64(a.Link.HostIndex),
		Mac:                    a.Link.ContainerMAC.String(),
		HostMac:                a.Link.HostMAC.String(),
		Addressing:             addr,
		Labels:                 models.Labels(a.Labels),
		State:                  &state,
		SyncBuildEndpoint:      true,
	}
}
