package endpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"
)

// Interface name prefixes. Host side: the veth end that stays in the node's netns and that cilium-agent
// attaches its programs to. Container side: the peer Docker moves into the sandbox (its SrcName).
const (
	hostPrefix      = "lxc"
	containerPrefix = "tmp"
	hashChars       = 11
)

// Names are the interface names of one endpoint's veth pair; each is 14 bytes, within IFNAMSIZ-1.
type Names struct {
	Host      string // stays in the node's netns, e.g. "lxc1a2b3c4d5e6"
	Container string // Docker's SrcName, renamed and moved into the sandbox at Join, e.g. "tmp1a2b3c4d5e6"
}

// NamesFor derives the interface names of an endpoint from its ID:
// h := hex(sha256(endpointID)); Host = "lxc"+h[:11], Container = "tmp"+h[:11].
// This is the only place the formula lives.
func NamesFor(id ID) Names {
	sum := sha256.Sum256([]byte(id.s))
	h := hex.EncodeToString(sum[:])[:hashChars]
	return Names{Host: hostPrefix + h, Container: containerPrefix + h}
}

// namesFromHost recovers both names from a host-side name produced by NamesFor.
func namesFromHost(host string) Names {
	return Names{Host: host, Container: containerPrefix + strings.TrimPrefix(host, hostPrefix)}
}

// Side is one end of an endpoint's veth pair; its text goes into the MAC derivation.
type Side string

// The two sides of a veth pair.
const (
	HostSide      Side = "host"      // stays in the node's netns
	ContainerSide Side = "container" // moved into the sandbox by Docker
)

// MACFor derives a stable MAC address for one side of an endpoint's veth pair from
// sha256(side+"/"+endpointID): the first 6 bytes, locally administered and unicast.
func MACFor(id ID, side Side) net.HardwareAddr {
	sum := sha256.Sum256([]byte(string(side) + "/" + id.s))
	mac := net.HardwareAddr(sum[:6:6])
	mac[0] |= 0x02  // locally administered
	mac[0] &^= 0x01 // unicast
	return mac
}
