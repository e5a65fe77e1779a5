package hubble

import (
	"fmt"
	"strings"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
)

// Flow is one flow as the flows command shows it.
type Flow struct {
	Time        time.Time `json:"time"`
	Node        string    `json:"node,omitempty"`
	Source      Peer      `json:"source"`
	Destination Peer      `json:"destination"`
	Protocol    string    `json:"protocol,omitempty"` // TCP, UDP, ICMPv4, …
	Flags       string    `json:"flags,omitempty"`    // TCP flags (SYN, ACK, …) or the ICMP type
	Verdict     string    `json:"verdict"`
	// DropReason is why a dropped flow was dropped (POLICY_DENIED, …).
	DropReason string `json:"drop_reason,omitempty"`
	// Policies are the policies that decided the flow when Hubble knows them: the ones that denied it
	// (a deny rule), or allowed it. A flow dropped for want of an allowing rule names none.
	Policies  []string `json:"policies,omitempty"`
	Direction string   `json:"direction,omitempty"` // ingress or egress of the observed endpoint
	// Event is what the datapath reported: "policy-verdict" (the policy decision on a new
	// connection), "drop", "trace" (a forwarded packet at one point of its path), …
	Event string `json:"event,omitempty"`
	// DestinationNames are the DNS names the source looked up, through the agent's DNS proxy, that
	// resolved to the destination's address.
	DestinationNames []string `json:"destination_names,omitempty"`
	// Explanation is set by Explain (flows --explain).
	Explanation *Explanation `json:"explanation,omitempty"`
}

// Peer is one side of a flow.
type Peer struct {
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name,omitempty"` // the container name; empty when not a container
	IP        string   `json:"ip,omitempty"`
	Port      uint32   `json:"port,omitempty"`
	Identity  uint32   `json:"identity,omitempty"`
	Labels    []string `json:"labels,omitempty"`
}

// is reports whether p is the container name ("app2", any namespace, or "ns/app2").
func (p Peer) is(name string) bool {
	if ns, n, ok := strings.Cut(name, "/"); ok {
		return p.Namespace == ns && p.Name == n
	}
	return p.Name == name
}

// String is namespace/name for a container, else the reserved identity (world, host, …) or the IP,
// with the port.
func (p Peer) String() string {
	var s string
	switch {
	case p.Name != "":
		s = p.Namespace + "/" + p.Name
	case len(p.Labels) > 0 && strings.HasPrefix(p.Labels[0], "reserved:"):
		s = strings.TrimPrefix(p.Labels[0], "reserved:")
		if p.IP != "" {
			s += "(" + p.IP + ")"
		}
	case p.IP != "":
		s = p.IP
	default:
		s = "?"
	}
	if p.Port != 0 {
		s += fmt.Sprintf(":%d", p.Port)
	}
	return s
}

// FromProto converts Hubble's flow (seen on node).
func FromProto(f *flowpb.Flow, node string) Flow {
	out := Flow{
		Node:        node,
		Source:      peer(f.GetSource(), f.GetIP().GetSource()),
		Destination: peer(f.GetDestination(), f.GetIP().GetDestination()),
		Verdict:     f.GetVerdict().String(),
	}
	out.Event = eventName(f.GetEventType().GetType())
	out.DestinationNames = f.GetDestinationNames()
	if ts := f.GetTime(); ts != nil {
		out.Time = ts.AsTime()
	}
	if out.Node == "" {
		out.Node = f.GetNodeName()
	}
	switch d := f.GetTrafficDirection(); d {
	case flowpb.TrafficDirection_INGRESS, flowpb.TrafficDirection_EGRESS:
		out.Direction = strings.ToLower(d.String())
	}
	if f.GetVerdict() == flowpb.Verdict_DROPPED {
		out.DropReason = f.GetDropReasonDesc().String()
	}
	l4 := f.GetL4()
	switch {
	case l4.GetTCP() != nil:
		out.Protocol = "TCP"
		out.Source.Port, out.Destination.Port = l4.GetTCP().GetSourcePort(), l4.GetTCP().GetDestinationPort()
		out.Flags = tcpFlags(l4.GetTCP().GetFlags())
	case l4.GetUDP() != nil:
		out.Protocol = "UDP"
		out.Source.Port, out.Destination.Port = l4.GetUDP().GetSourcePort(), l4.GetUDP().GetDestinationPort()
	case l4.GetSCTP() != nil:
		out.Protocol = "SCTP"
		out.Source.Port, out.Destination.Port = l4.GetSCTP().GetSourcePort(), l4.GetSCTP().GetDestinationPort()
	case l4.GetICMPv4() != nil:
		out.Protocol = "ICMPv4"
		out.Flags = fmt.Sprintf("type %d", l4.GetICMPv4().GetType())
	case l4.GetICMPv6() != nil:
		out.Protocol = "ICMPv6"
		out.Flags = fmt.Sprintf("type %d", l4.GetICMPv6().GetType())
	}
	for _, set := range [][]*flowpb.Policy{f.GetIngressDeniedBy(), f.GetEgressDeniedBy(), f.GetIngressAllowedBy(), f.GetEgressAllowedBy()} {
		for _, p := range set {
			if n := policyName(p); n != "" {
				out.Policies = append(out.Policies, n)
			}
		}
		if len(out.Policies) > 0 {
			break // the deciding set: deny rules before allow rules
		}
	}
	return out
}

// eventName names the monitor message types Hubble turns into flows (cilium pkg/monitor/api).
func eventName(t int32) string {
	switch t {
	case 1:
		return "drop"
	case 4:
		return "trace"
	case 5:
		return "policy-verdict"
	case 7:
		return "trace-sock"
	case 129:
		return "l7"
	}
	return ""
}

func peer(ep *flowpb.Endpoint, ip string) Peer {
	return Peer{Namespace: ep.GetNamespace(), Name: ep.GetPodName(), IP: ip, Identity: ep.GetIdentity(), Labels: ep.GetLabels()}
}

// policyName names a policy that decided a flow: "[kind ][namespace/]name", or "" when nothing names it.
// A policy the agent read from its policy directory (--static-cnp-path: how the plugin's policies
// reach it) has no Kubernetes labels, so Hubble gives no name or kind: they come from the labels the
// agent's directory watcher gives it (directory:filename=<file>, directory:policy-derived-from=<kind>;
// Cilium pkg/policy/directory, getLabels), as "<kind> in file <file>": the file names the policy and
// its namespace.
func policyName(p *flowpb.Policy) string {
	name, kind := p.GetName(), p.GetKind()
	if name != "" && p.GetNamespace() != "" {
		name = p.GetNamespace() + "/" + name
	}
	for _, l := range p.GetLabels() {
		if f, ok := strings.CutPrefix(l, "directory:filename="); ok && name == "" {
			name = "in file " + f
		} else if k, ok := strings.CutPrefix(l, "directory:policy-derived-from="); ok && kind == "" {
			kind = k
		}
	}
	if name == "" {
		return ""
	}
	if kind != "" {
		name = kind + " " + name
	}
	return name
}

func tcpFlags(f *flowpb.TCPFlags) string {
	if f == nil {
		return ""
	}
	var out []string
	for _, x := range []struct {
		set  bool
		name string
	}{{f.GetSYN(), "SYN"}, {f.GetACK(), "ACK"}, {f.GetFIN(), "FIN"}, {f.GetRST(), "RST"}, {f.GetPSH(), "PSH"}} {
		if x.set {
			out = append(out, x.name)
		}
	}
	return strings.Join(out, ",")
}

// Line is the flow on one line: time, source -> destination, protocol and flags, verdict, and for a
// drop its reason and the policy that decided it.
func (f Flow) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s -> %s", f.Time.Local().Format("15:04:05.000"), f.Source, f.Destination)
	if f.Protocol != "" {
		fmt.Fprintf(&b, "  %s", f.Protocol)
		if f.Flags != "" {
			fmt.Fprintf(&b, " %s", f.Flags)
		}
	}
	fmt.Fprintf(&b, "  %s", f.Verdict)
	if f.DropReason != "" {
		fmt.Fprintf(&b, " (%s)", f.DropReason)
	}
	if f.Direction != "" {
		fmt.Fprintf(&b, "  %s", f.Direction)
	}
	if f.Event != "" {
		fmt.Fprintf(&b, "  [%s]", f.Event)
	}
	if len(f.Policies) > 0 {
		fmt.Fprintf(&b, "  by %s", strings.Join(f.Policies, ", "))
	}
	return b.String()
}
