package agenttest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/cilium/cilium/api/v1/models"
)

// pool is the only IPAM pool of an agent without Kubernetes.
const pool = "default"

func (a *Agent) getConfig(*http.Request, []byte) answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return answer{http.StatusOK, &models.DaemonConfiguration{
		Spec: &models.DaemonConfigurationSpec{},
		Status: &models.DaemonConfigurationStatus{
			Addressing:   nodeAddressing(a.cfg),
			RouteMTU:     int64(a.cfg.RouteMTU),
			DatapathMode: models.DatapathMode(a.cfg.DatapathMode),
			DaemonConfigurationMap: map[string]any{"Labels": a.cfg.LabelPrefixes,
				"LabelPrefixFile": a.cfg.LabelPrefixFile, "ClusterName": a.cfg.ClusterName,
				"EnableHostLegacyRouting": !a.cfg.BPFHostRouting},
		},
	}}
}

func nodeAddressing(c Config) *models.NodeAddressing {
	fam := func(r netip.Prefix, ip netip.Addr) *models.NodeAddressingElement {
		if !r.IsValid() {
			return &models.NodeAddressingElement{Enabled: false}
		}
		return &models.NodeAddressingElement{Enabled: true, AllocRange: r.String(), IP: ip.String()}
	}
	return &models.NodeAddressing{IPv4: fam(c.IPv4Range, c.IPv4Router), IPv6: fam(c.IPv6Range, c.IPv6Router)}
}

// getClusterNodes answers GET /v1/cluster/nodes without a client ID, as the agent does: every node,
// this one first, with its primary addressing.
func (a *Agent) getClusterNodes(*http.Request, []byte) answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := &models.ClusterNodeStatus{Self: "default/node1",
		NodesAdded: []*models.NodeElement{{Name: "default/node1", PrimaryAddress: nodeAddressing(a.cfg)}}}
	for i, r := range a.cfg.OtherNodes {
		st.NodesAdded = append(st.NodesAdded, &models.NodeElement{Name: fmt.Sprintf("default/node%d", i+2),
			PrimaryAddress: &models.NodeAddressing{IPv4: &models.NodeAddressingElement{Enabled: true,
				AllocRange: r.String(), IP: r.Addr().Next().String()}}})
	}
	return answer{http.StatusOK, st}
}

func (a *Agent) getHealthz(*http.Request, []byte) answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	allocs := models.AllocationMap{}
	for ip, owner := range a.allocated {
		allocs[ip.String()] = owner
	}
	return answer{http.StatusOK, &models.StatusResponse{
		Cilium:     &models.Status{State: "Ok"},
		Kvstore:    &models.Status{State: "Ok"},
		Kubernetes: &models.K8sStatus{State: "Disabled"},
		Ipam:       &models.IPAMStatus{Allocations: allocs},
	}}
}

// postIPAM allocates a free address of each requested family (POST /v1/ipam?family=&owner=, header
// expiration). 201 with the agent's IPAMResponse; 502 when the family is disabled or exhausted.
func (a *Agent) postIPAM(r *http.Request, _ []byte) answer {
	q := r.URL.Query()
	family, owner := q.Get("family"), q.Get("owner")
	expire, _ := strconv.ParseBool(r.Header.Get("expiration"))
	a.mu.Lock()
	defer a.mu.Unlock()
	resp := &models.IPAMResponse{Address: &models.AddressPair{},
		HostAddressing: nodeAddressing(a.cfg)}
	for _, v6 := range []bool{false, true} {
		name := map[bool]string{false: "ipv4", true: "ipv6"}[v6]
		rng := a.cfg.IPv4Range
		if v6 {
			rng = a.cfg.IPv6Range
		}
		switch {
		case family != "" && family != name:
			continue
		case !rng.IsValid() && family == "":
			continue
		case !rng.IsValid():
			return errorAnswer(http.StatusBadGateway, fmt.Sprintf("failed to allocate IP: %s allocation disabled", name))
		}
		ip, ok := a.freeLocked(v6, rng)
		if !ok {
			return errorAnswer(http.StatusBadGateway, fmt.Sprintf("failed to allocate IP: range %s full", rng))
		}
		a.allocated[ip] = owner
		ar := &models.IPAMAddressResponse{IP: ip.String()}
		if expire {
			ar.ExpirationUUID = rand.Text()
			a.expiring[ip] = ar.ExpirationUUID
		}
		if v6 {
			resp.Address.IPv6, resp.Address.IPv6PoolName, resp.IPv6 = ip.String(), pool, ar
		} else {
			resp.Address.IPv4, resp.Address.IPv4PoolName, resp.IPv4 = ip.String(), pool, ar
		}
	}
	return answer{http.StatusCreated, resp}
}

// freeLocked returns the next free address of rng after the last one handed out, skipping the
// network address, the router and the last address, so addresses are not reused at once.
func (a *Agent) freeLocked(v6 bool, rng netip.Prefix) (netip.Addr, bool) {
	router := a.cfg.IPv4Router
	if v6 {
		router = a.cfg.IPv6Router
	}
	ip := a.cursor[v6]
	if !rng.Contains(ip) {
		ip = rng.Addr()
	}
	for range 1 << 16 {
		ip = ip.Next()
		if !rng.Contains(ip) {
			ip = rng.Addr().Next()
		}
		if _, taken := a.allocated[ip]; taken || ip == router || !rng.Contains(ip.Next()) {
			continue
		}
		a.cursor[v6] = ip
		return ip, true
	}
	return netip.Addr{}, false
}

// postIPAMIP allocates exactly the address (POST /v1/ipam/{ip}?owner=&pool=): 200; a taken address
// gets 500 "provided IP is already allocated" as from a real v1.19.3 agent (the API documents 409);
// 500 without pool, 400 when it is not an address, 500 when it is outside the node's range.
func (a *Agent) postIPAMIP(r *http.Request, _ []byte) answer {
	ip, err := netip.ParseAddr(r.PathValue("ip"))
	if err != nil {
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("invalid IP address: %s", r.PathValue("ip")))
	}
	owner := r.URL.Query().Get("owner")
	a.mu.Lock()
	defer a.mu.Unlock()
	rng := a.cfg.IPv4Range
	if ip.Is6() {
		rng = a.cfg.IPv6Range
	}
	switch {
	case !rng.IsValid():
		return errorAnswer(http.StatusNotImplemented, "IP family disabled")
	case !rng.Contains(ip) || ip == a.cfg.IPv4Router || ip == a.cfg.IPv6Router:
		return errorAnswer(http.StatusInternalServerError, fmt.Sprintf("IP %s not in range %s", ip, rng))
	}
	if r.URL.Query().Get("pool") == "" {
		return errorAnswer(http.StatusInternalServerError, fmt.Sprintf("unable to restore IP %s for %q: pool name must be provided", ip, owner))
	}
	if _, taken := a.allocated[ip]; taken {
		return errorAnswer(http.StatusInternalServerError, "provided IP is already allocated")
	}
	a.allocated[ip] = owner
	return answer{code: http.StatusOK}
}

// deleteIPAMIP frees the address (DELETE /v1/ipam/{ip}?pool=default): 200, also when it is already
// free. Without a pool the agent refuses with 500.
func (a *Agent) deleteIPAMIP(r *http.Request, _ []byte) answer {
	raw := r.PathValue("ip")
	ip, err := netip.ParseAddr(raw)
	if err != nil {
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("invalid IP address: %s", raw))
	}
	if r.URL.Query().Get("pool") == "" {
		return errorAnswer(http.StatusInternalServerError, fmt.Sprintf("no IPAM pool provided for IP release of %s", ip))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.allocated, ip)
	delete(a.expiring, ip)
	return answer{code: http.StatusOK}
}
