package pki

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
)

// nodeNameRx is a DNS-1123 label: what etcd, the agent and a directory name all take as they are.
const nodeNameRx = `^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`

// NodeName is a checked node name (ParseNodeName): a DNS name in the server certificate, part of the
// client certificates' names and the node's directory name.
type NodeName struct{ s string }

// ParseNodeName checks that s is a DNS-1123 label (lowercase letters, digits and '-', 1 to 63).
func ParseNodeName(s string) (NodeName, error) {
	if !regexp.MustCompile(nodeNameRx).MatchString(s) {
		return NodeName{}, fmt.Errorf("node name %q: want a DNS-1123 label (a-z, 0-9 and '-', at most 63, starting and ending alphanumeric)", s)
	}
	return NodeName{s}, nil
}

func (n NodeName) String() string { return n.s }

// ParseNodeIP checks that s is the node's unicast address, where its etcd listens; an IPv4-mapped
// IPv6 address is taken as its IPv4 address.
func ParseNodeIP(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("node address %q: %w", s, err)
	}
	ip = ip.Unmap()
	if ip.Zone() != "" || !ip.IsGlobalUnicast() && !ip.IsLoopback() {
		return netip.Addr{}, fmt.Errorf("node address %q: want the node's unicast address (no zone, not link-local, multicast or unspecified)", s)
	}
	return ip, nil
}

// ParseEndpoint checks that s is an etcd client URL over TLS: https://host:port and nothing more.
func ParseEndpoint(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("etcd endpoint %q: %w", s, err)
	}
	port, perr := strconv.ParseUint(u.Port(), 10, 16)
	if u.Scheme != "https" || u.Hostname() == "" || perr != nil || port == 0 || u.User != nil ||
		u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("etcd endpoint %q: want https://HOST:PORT", s)
	}
	return s, nil
}

// defaultEndpoint is the node's own etcd: https://IP:2379.
func defaultEndpoint(ip netip.Addr) string {
	return "https://" + netip.AddrPortFrom(ip, EtcdClientPort).String()
}
