package podrange

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Pool is the cluster pool: an IPv4 CIDR cut into one /IPv4PerNode per node, and optionally an IPv6
// CIDR cut likewise.
type Pool struct {
	IPv4        netip.Prefix `json:"ipv4"`
	IPv4PerNode int          `json:"ipv4PerNode"`
	IPv6        netip.Prefix `json:"ipv6,omitzero"`
	IPv6PerNode int          `json:"ipv6PerNode,omitempty"`
}

// DefaultPerNode is each node's prefix length when none is given: /20 of IPv4 (4096 addresses), /112
// of IPv6.
const (
	DefaultIPv4PerNode = 20
	DefaultIPv6PerNode = 112
)

// Validate checks both families' splits.
func (p Pool) Validate() error {
	if _, err := p.split4(); err != nil {
		return err
	}
	if p.IPv6.IsValid() || p.IPv6PerNode != 0 {
		if _, err := p.split6(); err != nil {
			return err
		}
	}
	return nil
}

func (p Pool) split4() (Split, error) {
	if !p.IPv4.Addr().Is4() {
		return Split{}, fmt.Errorf("pool %s: want an IPv4 CIDR", p.IPv4)
	}
	return NewSplit(p.IPv4, p.IPv4PerNode)
}

func (p Pool) split6() (Split, error) {
	if !p.IPv6.Addr().Is6() || p.IPv6.Addr().Is4In6() {
		return Split{}, fmt.Errorf("IPv6 pool %s: want an IPv6 CIDR", p.IPv6)
	}
	return NewSplit(p.IPv6, p.IPv6PerNode)
}

// String is "10.64.0.0/10 (/20 per node)" and the IPv6 pool after it.
func (p Pool) String() string {
	s := fmt.Sprintf("%s (/%d per node)", p.IPv4, p.IPv4PerNode)
	if p.IPv6.IsValid() {
		s += fmt.Sprintf(", %s (/%d per node)", p.IPv6, p.IPv6PerNode)
	}
	return s
}

// Claim is one node's range(s).
type Claim struct {
	Node string       `json:"node"`
	IPv4 netip.Prefix `json:"ipv4,omitzero"`
	IPv6 netip.Prefix `json:"ipv6,omitzero"`
	// Static is a hand-set range (ClaimStatic), not handed out by the pool.
	Static  bool      `json:"static,omitempty"`
	Claimed time.Time `json:"claimed"`
	// Revision is etcd's revision of the claim's last change.
	Revision int64 `json:"revision,omitempty"`
}

// Prefixes are the claim's valid ranges.
func (c Claim) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []netip.Prefix{c.IPv4, c.IPv6} {
		if p.IsValid() {
			out = append(out, p)
		}
	}
	return out
}

// Contains reports whether ip is in one of the claim's ranges.
func (c Claim) Contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	return c.IPv4.IsValid() && c.IPv4.Contains(ip) || c.IPv6.IsValid() && c.IPv6.Contains(ip)
}

// sameRanges reports whether c holds exactly these ranges.
func (c Claim) sameRanges(v4, v6 netip.Prefix) bool { return c.IPv4 == v4 && c.IPv6 == v6 }

// Sentinel errors callers branch on (errors.Is).
var (
	// ErrNoPool: no pool is set and the node has no claim.
	ErrNoPool = errors.New("no pod range pool")
	// ErrPoolFull: every per-node prefix of the pool is claimed.
	ErrPoolFull = errors.New("pod range pool full")
	// ErrOverlap: a range overlaps another node's claim.
	ErrOverlap = errors.New("overlaps another node's range")
	// ErrConflict: the node already holds another range, or the pool change would strand a claim.
	ErrConflict = errors.New("conflicts with the claims")
	// ErrInUse: a node to remove still has endpoints in its range, or its agent is registered.
	ErrInUse = errors.New("range in use")
	// ErrNotFound: the node holds no range.
	ErrNotFound = errors.New("no such node")
	// ErrContention: the claim kept losing to concurrent changes.
	ErrContention = errors.New("too many concurrent changes")
)

func decodeClaim(b []byte, rev int64) (Claim, error) {
	var c Claim
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	c.Revision = rev
	return c, nil
}
