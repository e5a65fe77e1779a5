package policy

import (
	"fmt"
	"strings"

	cilium_v2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/policy/api"
)

// The parser in go.mod is Cilium 1.19's; the supported agents are 1.19 and 1.20. What one of them drops
// or reads differently is refused, since the other would enforce something else than was checked
// (compared in the sources of v1.19.3 and v1.20.2, pkg/policy/api):
//   - 1.20 removed the L7 rule kinds kafka, l7proto and l7 (L7Rules in l4.go, their sanitize in
//     rule_validation.go). Its agent decodes the policy with encoding/json, which ignores the unknown
//     fields silently: the port's L7 restriction is gone and every request on it is allowed.
//   - toGroups and fromGroups: 1.19 turns them into CIDR rules through a cloud provider registered in
//     the process (api.RegisterToGroupsProvider, groups.go; only Cilium's operator registers one), 1.20
//     selects the CiliumCIDRGroups that an operator controller derives from them (groups.go
//     GetAsEndpointSelector). Neither runs beside a Docker host's agent.
//   - serverNames with a '*' other than a leading "*." or "**.": 1.19 takes '*' only as the first
//     character ("*cilium.io" matches cilium.io and every subdomain), 1.20 anywhere ("*cilium.io"
//     matches subcilium.io and not www.cilium.io) (ServerName in l4.go).
const (
	agent119 = "Cilium 1.19"
	agent120 = "Cilium 1.20"
)

// agentTraps refuses the first field of the document that a supported agent drops or reads
// differently, with its path and why. It reads the decoded policy (encoding/json matches field names
// without regard to case, as the agents do).
func agentTraps(cnp *cilium_v2.CiliumNetworkPolicy) error {
	var rules []*api.Rule
	var paths []string
	if cnp.Spec != nil {
		rules, paths = append(rules, cnp.Spec), append(paths, "spec")
	}
	for i, r := range cnp.Specs {
		if r != nil {
			rules, paths = append(rules, r), append(paths, fmt.Sprintf("specs[%d]", i))
		}
	}
	for i, r := range rules {
		if why := ruleTrap(r); why != "" {
			return refuse("%s.%s", paths[i], why)
		}
	}
	return nil
}

func ruleTrap(r *api.Rule) string {
	for i, in := range r.Ingress {
		if len(in.FromGroups) > 0 {
			return fmt.Sprintf("ingress[%d].fromGroups: %s", i, groupsReason)
		}
		if why := portsTrap(in.ToPorts); why != "" {
			return fmt.Sprintf("ingress[%d].%s", i, why)
		}
	}
	for i, in := range r.IngressDeny {
		if len(in.FromGroups) > 0 {
			return fmt.Sprintf("ingressDeny[%d].fromGroups: %s", i, groupsReason)
		}
	}
	for i, e := range r.Egress {
		if len(e.ToGroups) > 0 {
			return fmt.Sprintf("egress[%d].toGroups: %s", i, groupsReason)
		}
		if why := portsTrap(e.ToPorts); why != "" {
			return fmt.Sprintf("egress[%d].%s", i, why)
		}
	}
	for i, e := range r.EgressDeny {
		if len(e.ToGroups) > 0 {
			return fmt.Sprintf("egressDeny[%d].toGroups: %s", i, groupsReason)
		}
	}
	return ""
}

const groupsReason = agent119 + " resolves groups through a cloud provider that only Cilium's operator registers, " +
	agent120 + " through CiliumCIDRGroups that only the operator makes; neither runs beside a Docker host's agent, " +
	"and the two read the rule differently: use toCIDR/toCIDRSet (fromCIDR/fromCIDRSet)"

func portsTrap(ports api.PortRules) string {
	for i, p := range ports {
		if l7 := p.Rules; l7 != nil {
			for _, f := range []struct {
				field string
				set   bool
			}{{"kafka", l7.Kafka != nil}, {"l7proto", l7.L7Proto != ""}, {"l7", l7.L7 != nil}} {
				if f.set {
					return fmt.Sprintf("toPorts[%d].rules.%s: %s removed this rule kind and its agent ignores it "+
						"silently, so the port would allow all traffic instead of the L7 rules; supported agents are "+
						"%s and %s: restrict the port without it (http and dns rules are read by both)",
						i, f.field, agent120, agent119, agent120)
				}
			}
		}
		for k, sn := range p.ServerNames {
			if !sameOnBoth(string(sn)) {
				return fmt.Sprintf("toPorts[%d].serverNames[%d] %q: %s takes '*' only at the start, %s anywhere, "+
					"and they match different names; use no '*' or a leading \"*.\" or \"**.\" only", i, k, string(sn), agent119, agent120)
			}
		}
	}
	return ""
}

// sameOnBoth reports whether both agents read the server name alike: no '*', "*", or a leading "*." or
// "**." and no other '*'.
func sameOnBoth(sn string) bool {
	rest := sn
	for _, p := range []string{"**.", "*."} {
		if r, ok := strings.CutPrefix(sn, p); ok {
			rest = r
			break
		}
	}
	return sn == "*" || !strings.Contains(rest, "*")
}
