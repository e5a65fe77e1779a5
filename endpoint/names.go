package endpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrInvalidID is wrapped by every error ValidateID returns.
var ErrInvalidID = errors.New("invalid id")

// idLen is the length of a Docker endpoint or network ID.
const idLen = 64

// maxShownID bounds how much of a rejected ID an error message repeats.
const maxShownID = 80

// Interface name prefixes. Host side: the veth end that stays in the node's netns and that cilium-agent
// attaches its programs to. Container side: the peer Docker moves into the sandbox (its SrcName).
const (
	hostPrefix      = "lxc"
	containerPrefix = "tmp"
	hashChars       = 11
)

// ValidateID reports whether id is a Docker endpoint or network ID, that is whether it matches
// ^[0-9a-f]{64}$. Check IDs before they reach names, aliases or the agent.
func ValidateID(id string) error {
	if len(id) == idLen && strings.Trim(id, "0123456789abcdef") == "" {
		return nil
	}
	shown := id
	if len(shown) > maxShownID {
		shown = shown[:maxShownID]
	}
	return fmt.Errorf("%w %q (%d bytes): want 64 lowercase hex characters", ErrInvalidID, shown, len(id))
}

// Names are the interface names of one endpoint's veth pair; each is 14 bytes, within IFNAMSIZ-1.
type Names struct {
	Host      string // stays in the node's netns, e.g. "lxc1a2b3c4d5e6"
	Container string // Docker's SrcName, renamed and moved into the sandbox at Join, e.g. "tmp1a2b3c4d5e6"
}

// NamesFor derives the interface names of an endpoint from its (validated) ID:
// h := hex(sha256(endpointID)); Host = "lxc"+h[:11], Container = "tmp"+h[:11].
// This is the only place the formula lives.
func NamesFor(endpointID string) Names {
	sum := sha256.Sum256([]byte(endpointID))
	h := hex.EncodeToString(sum[:])[:hashChars]
	return Names{Host: hostPrefix + h, Container: containerPrefix + h}
}

// namesFromHost recovers both names from a host-side name produced by NamesFor.
func namesFromHost(host string) Names {
	return Names{Host: host, Container: containerPrefix + strings.TrimPrefix(host, hostPrefix)}
}

// MACFor derives a stable MAC address for one side ("host" or "container") of an endpoint's veth pair
// from sha256(side+"/"+endpointID): the first 6 bytes, locally administered and unicast.
func MACFor(endpointID, side string) net.HardwareAddr {
	sum := sha256.Sum256([]byte(side + "/" + endpointID))
	mac := net.HardwareAddr(sum[:6:6])
	mac[0] |= 0x02  // locally administered
	mac[0] &^= 0x01 // unicast
	return mac
}
