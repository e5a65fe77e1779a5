package podrange

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
)

// Split is a pool cut into equal per-node prefixes: slot i is the i-th prefix of length PerNode inside
// Pool, in address order.
type Split struct {
	Pool    netip.Prefix
	PerNode int
}

// maxPerNode is the longest per-node prefix of each family: a node needs room for its router, its
// health endpoint and some containers.
func maxPerNode(a netip.Addr) int {
	if a.Is4() {
		return 30
	}
	return 126
}

// NewSplit checks that pool is a network address and that perNode cuts it into at least one prefix.
func NewSplit(pool netip.Prefix, perNode int) (Split, error) {
	switch {
	case !pool.IsValid():
		return Split{}, errors.New("pool: no CIDR")
	case pool.Addr().Is4In6():
		return Split{}, fmt.Errorf("pool %s: an IPv4-mapped IPv6 prefix; give it as IPv4", pool)
	case pool.Masked() != pool:
		return Split{}, fmt.Errorf("pool %s: not a network address (want %s)", pool, pool.Masked())
	case perNode < pool.Bits():
		return Split{}, fmt.Errorf("pool %s is smaller than one node's /%d", pool, perNode)
	case perNode > maxPerNode(pool.Addr()):
		return Split{}, fmt.Errorf("pool %s: /%d per node leaves a node too few addresses (at most /%d)",
			pool, perNode, maxPerNode(pool.Addr()))
	}
	return Split{Pool: pool, PerNode: perNode}, nil
}

// Slots is how many per-node prefixes the pool holds (2^(PerNode-Pool.Bits())).
func (s Split) Slots() *big.Int {
	return new(big.Int).Lsh(big.NewInt(1), uint(s.PerNode-s.Pool.Bits()))
}

// String is "10.64.0.0/10 split into /20".
func (s Split) String() string { return fmt.Sprintf("%s split into /%d", s.Pool, s.PerNode) }

// Slot returns the i-th per-node prefix; ok is false past the last one.
func (s Split) Slot(i *big.Int) (netip.Prefix, bool) {
	if i.Sign() < 0 || i.Cmp(s.Slots()) >= 0 {
		return netip.Prefix{}, false
	}
	off := new(big.Int).Lsh(i, uint(s.Pool.Addr().BitLen()-s.PerNode))
	a, ok := addOffset(s.Pool.Addr(), off)
	if !ok {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, s.PerNode), true
}

// First returns the first slot that overlaps none of taken (prefixes of the same family; others are
// ignored); ok is false when every slot is taken. It visits at most len(taken)+1 slots: each slot it
// skips overlaps a taken prefix, and it jumps past that prefix's end.
func (s Split) First(taken []netip.Prefix) (netip.Prefix, bool) {
	slot := big.NewInt(0)
	for {
		p, ok := s.Slot(slot)
		if !ok {
			return netip.Prefix{}, false
		}
		hit, found := overlapping(p, taken)
		if !found {
			return p, true
		}
		// The next slot that starts after the end of hit (or simply the next one).
		next := new(big.Int).Add(slot, big.NewInt(1))
		if end := s.slotAfter(hit); end != nil && end.Cmp(next) > 0 {
			next = end
		}
		slot = next
	}
}

// slotAfter is the index of the first slot that starts after p's last address (nil when p ends past
// the pool).
func (s Split) slotAfter(p netip.Prefix) *big.Int {
	last := lastAddr(p)
	if !s.Pool.Contains(last) {
		return nil
	}
	off := new(big.Int).Sub(toInt(last), toInt(s.Pool.Addr()))
	off.Rsh(off, uint(s.Pool.Addr().BitLen()-s.PerNode))
	return off.Add(off, big.NewInt(1))
}

// Contains reports whether p lies inside the pool.
func (s Split) Contains(p netip.Prefix) bool {
	return p.Addr().BitLen() == s.Pool.Addr().BitLen() && p.Bits() >= s.Pool.Bits() && s.Pool.Contains(p.Addr())
}

func overlapping(p netip.Prefix, taken []netip.Prefix) (netip.Prefix, bool) {
	for _, t := range taken {
		if t.Addr().BitLen() == p.Addr().BitLen() && t.Overlaps(p) {
			return t, true
		}
	}
	return netip.Prefix{}, false
}

// lastAddr is p's last address.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func toInt(a netip.Addr) *big.Int { return new(big.Int).SetBytes(a.AsSlice()) }

// addOffset adds off to a; ok is false when the sum leaves the family's address space.
func addOffset(a netip.Addr, off *big.Int) (netip.Addr, bool) {
	n := toInt(a)
	n.Add(n, off)
	size := len(a.AsSlice())
	if n.BitLen() > size*8 {
		return netip.Addr{}, false
	}
	b := n.FillBytes(make([]byte, size))
	r, _ := netip.AddrFromSlice(b)
	return r, true
}
