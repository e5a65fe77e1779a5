package endpoint

// The CNI attachment of an endpoint: the container-id and container-interface-name the plugin creates
// the agent endpoint of a Docker endpoint with, and by which it addresses that agent endpoint for its
// whole life (the agent reuses numeric IDs). Both are derived from the Docker endpoint ID alone, so
// the driver (which creates and deletes), the IPAM (which recognises its own endpoint at a re-claim)
// and the reconciler (which explains agent endpoints by Docker's) share this one formula. The agent's
// wire form of it (the cni-attachment-id: prefix, the model's external identifiers) is agent/'s.

// Attachment is the container-id and container-interface-name of eid's agent endpoint.
func Attachment(eid ID) (containerID, containerIfName string) {
	return eid.String(), NamesFor(eid).Container
}

// ParseAttachment is the Docker endpoint an agent endpoint's attachment names: its container-id, when
// the interface name is the one Attachment derives from that ID. An attachment of another creator (the
// host endpoint, a CNI plugin) answers false.
func ParseAttachment(containerID, containerIfName string) (ID, bool) {
	eid, err := ParseID(containerID) // the agent's text: parsed like a request's
	if err != nil || NamesFor(eid).Container != containerIfName {
		return ID{}, false
	}
	return eid, true
}
