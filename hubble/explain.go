package hubble

import (
	"fmt"
	"regexp"
	"strings"
)

// Explanation says who dropped a flow and, unless a deny rule did, the smallest policy that would
// allow exactly that flow.
type Explanation struct {
	// Why names the side whose policy dropped the flow and the rule: a deny rule by its policy, or
	// the default deny of an endpoint that a policy selects.
	Why string `json:"why"`
	// Suggestion is a CiliumClusterwideNetworkPolicy for `cilium-docker policy apply -`; empty when an
	// allow rule could not help (a deny rule dropped the flow) or the flow lacks what it needs.
	Suggestion string `json:"suggestion,omitempty"`
}

// dropDenyRule is Hubble's drop reason for a deny rule (Cilium's DROP_POLICY_DENY, 181); a flow that
// no rule allows is POLICY_DENIED (133).
const dropDenyRule = "POLICY_DENY"

// Explain explains a dropped flow; any other flow gets nil.
func (f Flow) Explain() *Explanation {
	if f.Verdict != "DROPPED" {
		return nil
	}
	subject, peer, ingress := f.Source, f.Destination, false
	if f.Direction == "ingress" {
		subject, peer, ingress = f.Destination, f.Source, true
	}
	who := subject
	who.Port = 0 // the endpoint, not the connection
	side := "egress of " + who.String()
	if ingress {
		side = "ingress of " + who.String()
	}
	switch {
	case f.DropReason == dropDenyRule:
		by := "a deny rule"
		if len(f.Policies) > 0 {
			by = "deny rule of " + strings.Join(f.Policies, ", ")
		}
		return &Explanation{Why: fmt.Sprintf("%s: dropped by %s; an allow rule cannot undo a deny rule: change or delete that policy", side, by)}
	case f.DropReason != "POLICY_DENIED":
		return &Explanation{Why: fmt.Sprintf("%s: dropped for %s, not by a policy", side, orUnknown(f.DropReason))}
	}
	e := &Explanation{Why: fmt.Sprintf("%s: default deny: a policy selects %s for %s, and no rule allows this flow", side, who.String(), direction(ingress))}
	sel := selectorLabels(subject.Labels)
	if len(sel) == 0 {
		e.Why += " (the endpoint is not a container: no suggestion)"
		return e
	}
	e.Suggestion = suggestion(f, sel, peer, ingress)
	return e
}

func direction(ingress bool) string {
	if ingress {
		return "ingress"
	}
	return "egress"
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown reason"
	}
	return s
}

// selectorLabels are the labels of an identity a policy selects it by: the container's and the ones
// the plugin stamps (k8s:…), never reserved ones.
func selectorLabels(ls []string) []string {
	var out []string
	for _, l := range ls {
		if strings.HasPrefix(l, "container:") || strings.HasPrefix(l, "k8s:") {
			out = append(out, l)
		}
	}
	return out
}

// suggestion is the policy that allows exactly f: the subject by its labels, the peer by its labels
// (a container), its DNS names (a destination resolved through the proxy), its entity (host, …) or its
// address, on the flow's port and protocol.
func suggestion(f Flow, subject []string, peer Peer, ingress bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: %s\n", suggestionName(f, ingress))
	b.WriteString("spec:\n  endpointSelector:\n    matchLabels:\n")
	writeLabels(&b, "      ", subject)
	dir, to := "egress", "to"
	if ingress {
		dir, to = "ingress", "from"
	}
	fmt.Fprintf(&b, "  %s:\n", dir)
	peerSel := selectorLabels(peer.Labels)
	switch {
	case len(peerSel) > 0:
		fmt.Fprintf(&b, "  - %sEndpoints:\n    - matchLabels:\n", to)
		writeLabels(&b, "        ", peerSel)
	case !ingress && len(f.DestinationNames) > 0:
		b.WriteString("  - toFQDNs:\n")
		for _, n := range f.DestinationNames {
			fmt.Fprintf(&b, "    - {matchName: %q}\n", strings.TrimSuffix(n, "."))
		}
	case entity(peer) != "" && entity(peer) != "world":
		fmt.Fprintf(&b, "  - %sEntities: [%s]\n", to, entity(peer))
	case peer.IP != "":
		fmt.Fprintf(&b, "  - %sCIDR: [%s/%d]\n", to, peer.IP, hostBits(peer.IP))
	default:
		fmt.Fprintf(&b, "  - %sEntities: [world]\n", to)
	}
	switch f.Protocol {
	case "TCP", "UDP", "SCTP":
		fmt.Fprintf(&b, "    toPorts:\n    - ports: [{port: \"%d\", protocol: %s}]\n", f.Destination.Port, f.Protocol)
	case "ICMPv4", "ICMPv6":
		family := "IPv4"
		if f.Protocol == "ICMPv6" {
			family = "IPv6"
		}
		var typ int
		if _, err := fmt.Sscanf(f.Flags, "type %d", &typ); err == nil {
			fmt.Fprintf(&b, "    icmps:\n    - fields: [{family: %s, type: %d}]\n", family, typ)
		}
	}
	return b.String()
}

func writeLabels(b *strings.Builder, indent string, ls []string) {
	for _, l := range ls {
		k, v, _ := strings.Cut(l, "=")
		fmt.Fprintf(b, "%s%q: %q\n", indent, k, v)
	}
}

// entity is the reserved identity of a peer that is no container (world, host, remote-node, …), or "".
func entity(p Peer) string {
	for _, l := range p.Labels {
		if e, ok := strings.CutPrefix(l, "reserved:"); ok {
			return e
		}
	}
	return ""
}

func hostBits(ip string) int {
	if strings.Contains(ip, ":") {
		return 128
	}
	return 32
}

var nameChars = regexp.MustCompile(`[^a-z0-9]+`)

// suggestionName is a DNS-1123 name that says what the policy allows: allow-<subject>-<direction>-<peer>-<port>.
func suggestionName(f Flow, ingress bool) string {
	subject, peer := f.Source, f.Destination
	if ingress {
		subject, peer = f.Destination, f.Source
	}
	peerName := peer.Name
	if peerName == "" && !ingress && len(f.DestinationNames) > 0 {
		peerName = f.DestinationNames[0]
	}
	if peerName == "" {
		peerName = entity(peer)
		if peerName == "" || peerName == "world" {
			peerName = peer.IP
		}
	}
	parts := []string{"allow", subject.Name, direction(ingress), peerName}
	if f.Destination.Port != 0 {
		parts = append(parts, fmt.Sprint(f.Destination.Port))
	}
	name := strings.Trim(nameChars.ReplaceAllString(strings.ToLower(strings.Join(parts, "-")), "-"), "-")
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	return name
}
