package endpoint

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Proto is a published port's transport protocol, numbered as IANA (and Docker's portmap) does.
type Proto uint8

// The protocols a port can be published for.
const (
	TCP Proto = 6
	UDP Proto = 17
)

func (p Proto) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return "proto-" + strconv.Itoa(int(p))
}

func parseProto(s string) (Proto, error) {
	switch s {
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	}
	return 0, fmt.Errorf("protocol %q is not tcp or udp", s)
}

// Binding is one port Docker asks to publish (docker run -p / -P): the container's Port, reachable
// on HostIP (invalid: every IPv4 address of the node) at HostPort, or at the first free port of
// HostPort..HostPortEnd, or (HostPort 0) at any free port the kernel picks, as for -P.
type Binding struct {
	Proto       Proto
	Port        uint16
	HostIP      netip.Addr
	HostPort    uint16
	HostPortEnd uint16 // 0 or HostPort: the one port HostPort
}

// Validate refuses what the node cannot publish.
func (b Binding) Validate() error {
	if b.Proto != TCP && b.Proto != UDP {
		return fmt.Errorf("publish %d/%s: only tcp and udp ports can be published", b.Port, b.Proto)
	}
	if b.Port == 0 {
		return fmt.Errorf("publish port 0/%s: no container port", b.Proto)
	}
	if b.HostIP.IsValid() && (!b.HostIP.Is4() || b.HostIP.IsMulticast()) {
		return fmt.Errorf("publish %d/%s on %s: only IPv4 unicast host addresses are supported (the container has an IPv4 address only)",
			b.Port, b.Proto, b.HostIP)
	}
	if b.HostPort == 0 && b.HostPortEnd != 0 {
		return fmt.Errorf("publish %d/%s: host port range 0-%d starts at 0", b.Port, b.Proto, b.HostPortEnd)
	}
	if b.HostPortEnd != 0 && b.HostPortEnd < b.HostPort {
		return fmt.Errorf("publish %d/%s: host port range %d-%d ends before it starts", b.Port, b.Proto, b.HostPort, b.HostPortEnd)
	}
	return nil
}

// hostIP is the address the binding's reservation socket binds: HostIP, or 0.0.0.0 for every address.
func (b Binding) hostIP() netip.Addr {
	if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
		return b.HostIP
	}
	return netip.IPv4Unspecified()
}

// candidates are the host ports to try in order; a single 0 means "any, the kernel picks".
func (b Binding) candidates() []uint16 {
	end := max(b.HostPortEnd, b.HostPort)
	out := make([]uint16, 0, int(end-b.HostPort)+1)
	for p := int(b.HostPort); p <= int(end); p++ {
		out = append(out, uint16(p))
	}
	return out
}

// Mapping is a published port as the node programs it: HostIP:HostPort (HostIP 0.0.0.0: every local
// address) is forwarded to Container.
type Mapping struct {
	Proto     Proto
	HostIP    netip.Addr
	HostPort  uint16
	Container netip.AddrPort
}

func (m Mapping) String() string {
	return fmt.Sprintf("%s %s -> %s", m.Proto, netip.AddrPortFrom(m.HostIP, m.HostPort), m.Container)
}

// coversLoopback reports whether the mapping answers on 127.0.0.0/8, which needs route_localnet and
// a masquerade of the loopback source (a packet from 127/8 may not leave the loopback device).
func (m Mapping) coversLoopback() bool { return m.HostIP.IsUnspecified() || m.HostIP.IsLoopback() }

// satisfies reports whether m is what b asks for, for a container at ctr.
func (m Mapping) satisfies(b Binding, ctr netip.Addr) bool {
	end := max(b.HostPortEnd, b.HostPort)
	return m.Proto == b.Proto && m.HostIP == b.hostIP() && m.Container == netip.AddrPortFrom(ctr, b.Port) &&
		(b.HostPort == 0 || m.HostPort >= b.HostPort && m.HostPort <= end)
}

// ruleTag is the prefix of the comment every rule of the plugin carries: "cilium-docker <endpoint>
// <proto> <host ip>:<port> <container ip>:<port>", at most 126 bytes (nft shows comments up to 128).
const ruleTag = "cilium-docker"

// comment is the ownership mark of m's rules: the endpoint and the whole mapping, so a restarted
// plugin rebuilds its reservations from the kernel alone.
func comment(eid ID, m Mapping) string {
	return fmt.Sprintf("%s %s %s %s %s", ruleTag, eid.s, m.Proto, netip.AddrPortFrom(m.HostIP, m.HostPort), m.Container)
}

// parseComment reads back a comment; ok is false for a rule that is not the plugin's.
func parseComment(s string) (eid ID, m Mapping, ok bool, err error) {
	f := strings.Fields(s)
	if len(f) == 0 || f[0] != ruleTag {
		return ID{}, Mapping{}, false, nil
	}
	if len(f) != 5 {
		return ID{}, Mapping{}, true, fmt.Errorf("rule comment %q: want 5 fields", s)
	}
	if eid, err = ParseID(f[1]); err != nil {
		return ID{}, Mapping{}, true, fmt.Errorf("rule comment %q: %w", s, err)
	}
	if m.Proto, err = parseProto(f[2]); err != nil {
		return ID{}, Mapping{}, true, fmt.Errorf("rule comment %q: %w", s, err)
	}
	host, err := netip.ParseAddrPort(f[3])
	if err != nil {
		return ID{}, Mapping{}, true, fmt.Errorf("rule comment %q: %w", s, err)
	}
	if m.Container, err = netip.ParseAddrPort(f[4]); err != nil {
		return ID{}, Mapping{}, true, fmt.Errorf("rule comment %q: %w", s, err)
	}
	m.HostIP, m.HostPort = host.Addr(), host.Port()
	if !m.HostIP.Is4() || !m.Container.Addr().Is4() {
		return ID{}, Mapping{}, true, fmt.Errorf("rule comment %q: not IPv4", s)
	}
	return eid, m, true, nil
}
