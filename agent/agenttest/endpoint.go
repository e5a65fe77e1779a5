package agenttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/cilium/api/v1/models"
)

// identityInit is the identity of an endpoint without labels (reserved:init).
const identityInit = 5

// firstEndpointID is the lowest endpoint ID the fake hands out.
const firstEndpointID = 1001

// firstIdentity is the first identity the fake hands to a label set.
const firstIdentity = 30000

func hostEndpoint(c Config) *models.Endpoint {
	state := models.EndpointStateReady
	lbls := []string{"reserved:host"}
	return &models.Endpoint{ID: HostEndpointID, Spec: &models.EndpointConfigurationSpec{},
		Status: &models.EndpointStatus{
			State:               &state,
			Identity:            &models.Identity{ID: 1, Labels: lbls},
			ExternalIdentifiers: &models.EndpointIdentifiers{},
			Labels: &models.LabelConfigurationStatus{Realized: &models.LabelConfigurationSpec{},
				SecurityRelevant: lbls},
			Networking: &models.EndpointNetworking{InterfaceName: "cilium_host",
				Addressing: []*models.AddressPair{{IPv4: c.IPv4Router.String()}}},
		}}
}

// putEndpoint creates an endpoint (PUT /v1/endpoint/{id}; 0 = the agent picks the ID) and answers
// 201 with it, ready under the identity of its labels. Like the agent it refuses with 400 a
// duplicate ID, CNI attachment (container ID + interface name) or IP, and reserved labels; with 500
// an expiration UUID that does not match a running timer of the address.
func (a *Agent) putEndpoint(r *http.Request, body []byte) answer {
	var req models.EndpointChangeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("parsing request body: %v", err))
	}
	id, ok := numericID(r.PathValue("id"))
	if !ok {
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("invalid endpoint ID %q", r.PathValue("id")))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.changes = append(a.changes, deepCopy(&req))
	if req.State == nil {
		return errorAnswer(http.StatusBadRequest, "state in body is required")
	}
	if id == 0 {
		// Like the agent, the lowest free ID: IDs of deleted endpoints are handed out again.
		id = firstEndpointID
		for a.endpoints[id] != nil {
			id++
		}
	} else if _, dup := a.endpoints[id]; dup {
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("endpoint ID %d already exists", id))
	}
	if req.ContainerID != "" {
		att := attachmentID(req.ContainerID, req.ContainerInterfaceName)
		for _, ep := range a.endpoints {
			if x := ep.Status.ExternalIdentifiers; x != nil && x.CniAttachmentID == att {
				return errorAnswer(http.StatusBadRequest, fmt.Sprintf("endpoint for CNI attachment ID %s already exists", att))
			}
		}
	}
	ips, err := requestIPs(req.Addressing)
	if err != nil {
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("unable to parse endpoint parameters: %v", err))
	}
	for _, ip := range ips {
		if a.byIPLocked(ip) != nil {
			prefix := "ipv4:"
			if ip.Is6() {
				prefix = "ipv6:"
			}
			return errorAnswer(http.StatusBadRequest, fmt.Sprintf("IP %s%s is already in use", prefix, ip))
		}
	}
	for _, l := range req.Labels {
		if strings.HasPrefix(l, "reserved:") {
			return errorAnswer(http.StatusBadRequest, fmt.Sprintf("not allowed to add reserved labels: %s", l))
		}
	}
	if len(req.Labels) > 0 && len(a.identityOnlyLocked(req.Labels)) == 0 {
		return errorAnswer(http.StatusBadRequest, "no valid labels provided")
	}
	// The agent stops the expiration timer of each address whose UUID the request carries; an address
	// sent without it keeps its timer and is freed under the endpoint when the timer fires.
	var stopTimers []netip.Addr
	if ad := req.Addressing; ad != nil {
		for _, p := range [][2]string{{ad.IPv4, ad.IPv4ExpirationUUID}, {ad.IPv6, ad.IPv6ExpirationUUID}} {
			if p[1] == "" {
				continue
			}
			ip, err := parseIP(p[0])
			if err != nil {
				continue
			}
			switch running, ok := a.expiring[ip]; {
			case !ok:
				return errorAnswer(http.StatusInternalServerError, "no expiration timer registered")
			case running != p[1]:
				return errorAnswer(http.StatusInternalServerError, "UUID mismatch, not stopping expiration timer")
			}
			stopTimers = append(stopTimers, ip)
		}
	}
	for _, ip := range stopTimers {
		delete(a.expiring, ip)
	}
	ep := a.newEndpointLocked(id, &req)
	a.endpoints[id] = ep
	return answer{http.StatusCreated, deepCopy(ep)}
}

func attachmentID(containerID, ifName string) string {
	if ifName == "" {
		return containerID
	}
	return containerID + ":" + ifName
}

func requestIPs(ad *models.AddressPair) ([]netip.Addr, error) {
	if ad == nil {
		return nil, nil
	}
	var out []netip.Addr
	for _, s := range []string{ad.IPv4, ad.IPv6} {
		if s == "" {
			continue
		}
		ip, err := parseIP(s)
		if err != nil {
			return nil, err
		}
		out = append(out, ip)
	}
	return out, nil
}

// parseIP takes an address in plain or CIDR form, as the agent does.
func parseIP(s string) (netip.Addr, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr(), nil
	}
	return netip.ParseAddr(s)
}

func (a *Agent) newEndpointLocked(id int64, req *models.EndpointChangeRequest) *models.Endpoint {
	state := models.EndpointStateReady
	ad := &models.AddressPair{}
	if req.Addressing != nil {
		ad.IPv4, ad.IPv6 = req.Addressing.IPv4, req.Addressing.IPv6
		if ad.IPv4 != "" {
			ad.IPv4PoolName = pool
		}
		if ad.IPv6 != "" {
			ad.IPv6PoolName = pool
		}
	}
	ext := &models.EndpointIdentifiers{CniAttachmentID: attachmentID(req.ContainerID, req.ContainerInterfaceName)}
	if a.cfg.Version == V1_19 {
		ext.ContainerID = req.ContainerID
		ext.ContainerName = req.ContainerName
		ext.DockerEndpointID = req.DockerEndpointID
		ext.DockerNetworkID = req.DockerNetworkID
		ext.K8sNamespace, ext.K8sPodName = req.K8sNamespace, req.K8sPodName
		if req.K8sNamespace != "" && req.K8sPodName != "" {
			ext.PodName = req.K8sNamespace + "/" + req.K8sPodName
		}
	}
	a.k8s[id] = [2]string{req.K8sNamespace, req.K8sPodName}
	ep := &models.Endpoint{ID: id, Spec: &models.EndpointConfigurationSpec{},
		Status: &models.EndpointStatus{
			State:               &state,
			ExternalIdentifiers: ext,
			Networking: &models.EndpointNetworking{
				Addressing:             []*models.AddressPair{ad},
				ContainerInterfaceName: req.ContainerInterfaceName,
				InterfaceName:          req.InterfaceName,
				InterfaceIndex:         req.InterfaceIndex,
				Mac:                    req.Mac,
				HostMac:                req.HostMac,
			},
		}}
	orch := slices.Compact(slices.Sorted(slices.Values(a.identityOnlyLocked(req.Labels))))
	if len(orch) == 0 {
		orch = []string{initLabel}
	}
	a.labels[id] = &opLabels{orch: orch}
	a.realizeLabelsLocked(ep)
	return ep
}

func (a *Agent) listEndpoints(*http.Request, []byte) answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return answer{http.StatusOK, a.listLocked(true)}
}

func (a *Agent) getEndpoint(r *http.Request, _ []byte) answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	ep, err := a.lookupLocked(r.PathValue("id"))
	if err != nil {
		return errorAnswer(http.StatusBadRequest, err.Error())
	}
	if ep == nil {
		return errorAnswer(http.StatusNotFound, "endpoint not found")
	}
	return answer{http.StatusOK, deepCopy(ep)}
}

// deleteEndpoint deletes the endpoint (200; 404 when there is none) and, unless told otherwise with
// SetFreeIPOnDelete, frees its addresses as the agent does for endpoints without external IPAM.
func (a *Agent) deleteEndpoint(r *http.Request, _ []byte) answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	ep, err := a.lookupLocked(r.PathValue("id"))
	if err != nil {
		return errorAnswer(http.StatusBadRequest, err.Error())
	}
	if ep == nil || ep.ID == HostEndpointID {
		return errorAnswer(http.StatusNotFound, "endpoint not found")
	}
	delete(a.endpoints, ep.ID)
	delete(a.labels, ep.ID)
	delete(a.k8s, ep.ID)
	if a.freeIPOnDelete {
		for _, p := range ep.Status.Networking.Addressing {
			for _, s := range []string{p.IPv4, p.IPv6} {
				if ip, err := netip.ParseAddr(s); err == nil {
					delete(a.allocated, ip)
					delete(a.expiring, ip)
				}
			}
		}
	}
	return answer{code: http.StatusOK}
}

// lookupLocked finds an endpoint by any of the ID forms the agent's version accepts: 123,
// cilium-local:123, cni-attachment-id:<container-id>[:<ifname>], cep-name:<ns>/<pod>, ipv4:<ip>,
// ipv6:<ip>, and on v1.19 also docker-endpoint:<id>, container-id:<id>, container-name:<name> and
// pod-name:<ns>/<pod>. It answers nil, nil when none matches and an error (the agent's 400) for a
// prefix the version does not know.
func (a *Agent) lookupLocked(id string) (*models.Endpoint, error) {
	if n, ok := numericID(id); ok {
		return a.endpoints[n], nil
	}
	prefix, val, ok := strings.Cut(id, ":")
	if !ok {
		return nil, fmt.Errorf("invalid endpoint ID %q", id)
	}
	match := func(f func(ep *models.Endpoint) bool) *models.Endpoint {
		for _, ep := range a.endpoints {
			if ep.ID != HostEndpointID && val != "" && f(ep) {
				return ep
			}
		}
		return nil
	}
	ext := func(ep *models.Endpoint) *models.EndpointIdentifiers {
		if x := ep.Status.ExternalIdentifiers; x != nil {
			return x
		}
		return &models.EndpointIdentifiers{}
	}
	cep := func(ep *models.Endpoint) string {
		k := a.k8s[ep.ID]
		if k[0] == "" || k[1] == "" {
			return ""
		}
		return k[0] + "/" + k[1]
	}
	switch prefix {
	case "cni-attachment-id":
		return match(func(ep *models.Endpoint) bool { return ext(ep).CniAttachmentID == val }), nil
	case "cep-name":
		return match(func(ep *models.Endpoint) bool { return cep(ep) == val }), nil
	case "ipv4", "ipv6":
		if ip, err := netip.ParseAddr(val); err == nil {
			return a.byIPLocked(ip), nil
		}
		return nil, nil
	}
	if a.cfg.Version == V1_19 {
		switch prefix {
		case "docker-endpoint":
			return match(func(ep *models.Endpoint) bool { return ext(ep).DockerEndpointID == val }), nil
		case "container-id":
			return match(func(ep *models.Endpoint) bool { return ext(ep).ContainerID == val }), nil
		case "container-name":
			return match(func(ep *models.Endpoint) bool { return ext(ep).ContainerName == val }), nil
		case "pod-name":
			return match(func(ep *models.Endpoint) bool { return cep(ep) == val }), nil
		}
	}
	return nil, fmt.Errorf("unknown endpoint ID prefix \"%s\"", prefix)
}

func (a *Agent) byIPLocked(ip netip.Addr) *models.Endpoint {
	for _, ep := range a.endpoints {
		if ep.ID == HostEndpointID || ep.Status.Networking == nil {
			continue
		}
		for _, p := range ep.Status.Networking.Addressing {
			for _, s := range []string{p.IPv4, p.IPv6} {
				if got, err := netip.ParseAddr(s); err == nil && got == ip {
					return ep
				}
			}
		}
	}
	return nil
}

// numericID parses "123" and "cilium-local:123".
func numericID(id string) (int64, bool) {
	id = strings.TrimPrefix(id, "cilium-local:")
	n, err := strconv.ParseUint(id, 10, 16)
	return int64(n), err == nil
}
