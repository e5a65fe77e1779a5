package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/cilium/api/v1/models"

	"github.com/cilium-docker/cilium-docker/agent"
)

// Pool IDs: one pool per family, backed by the agent's node range.
const (
	PoolV4 = "CiliumPoolv4"
	PoolV6 = "CiliumPoolv6"
	// Owner marks this plugin's allocations in the agent (visible in its healthz IPAM allocations).
	Owner = "cilium-docker"
	// LocalAddressSpace and GlobalAddressSpace are this IPAM's address spaces: every pool it hands out
	// carries one, which is how the network driver tells a network of this IPAM from another's.
	LocalAddressSpace  = "CiliumLocal"
	GlobalAddressSpace = "CiliumGlobal"
	// gatewayKey is Docker's key for the gateway, in RequestPool Data and RequestAddress options.
	gatewayKey = "com.docker.network.gateway"
)

// Agent is what the IPAM core needs from cilium-agent.
type Agent interface {
	Config(ctx context.Context) (*agent.Config, error)
	Allocate(ctx context.Context, fam agent.IPFamily, owner string, expire bool) (agent.Allocation, error)
	Claim(ctx context.Context, ip netip.Addr, owner string) error
	Release(ctx context.Context, ip netip.Addr) error
	Allocations(ctx context.Context) (map[netip.Addr]string, error)
	Endpoint(ctx context.Context, id string) (*models.Endpoint, error)
}

// Tracker is the in-flight set the reconciler reads: an address a handler works on, or just worked
// on, is not garbage although Docker may not list it yet (or any more).
type Tracker interface {
	Address(ip netip.Addr) (done func())
}

// Core is the IpamDriver's logic with typed arguments.
type Core struct {
	agent Agent
	book  *Book
	track Tracker
}

// Deps is what a Core is made of. Every field is required: the daemon wires the real parts, tests
// no-op fakes.
type Deps struct {
	Agent Agent
	// Book records who frees each address this process handed out.
	Book *Book
	// Tracker is where every handler records the address it works on, for the reconciler.
	Tracker Tracker
}

// New returns the IPAM core.
func New(d Deps) *Core { return &Core{agent: d.Agent, book: d.Book, track: d.Tracker} }

// AddressSpaces are this IPAM's address spaces (the AddressSpace of every pool it hands out), which the
// wiring gives the network driver: its test that a network's addresses are the agent's.
func AddressSpaces() []string { return []string{LocalAddressSpace, GlobalAddressSpace} }

// Pool is the answer to a pool request.
type Pool struct {
	ID      string
	Prefix  netip.Prefix
	Gateway netip.Prefix
}

// RequestPool returns the pool of the family: without --subnet 0.0.0.0/0 for IPv4 and the agent's IPv6
// node range for IPv6; with --subnet requested, which must cover the agent's node range. The gateway is
// the agent's router address, so Docker does not spend an address on it.
func (c *Core) RequestPool(ctx context.Context, f agent.IPFamily, requested, sub string) (Pool, error) {
	if sub != "" {
		return Pool{}, fmt.Errorf("--ip-range %q is not supported: addresses come from cilium-agent's node range", sub)
	}
	fam, id, err := c.family(ctx, f)
	if err != nil {
		return Pool{}, err
	}
	var prefix netip.Prefix
	switch {
	case requested != "":
		p, err := netip.ParsePrefix(requested)
		if err != nil {
			return Pool{}, fmt.Errorf("subnet %q: %w", requested, err)
		}
		p = p.Masked()
		if p.Bits() > fam.Range.Bits() || !p.Contains(fam.Range.Addr()) {
			return Pool{}, fmt.Errorf("subnet %s does not cover cilium-agent's node range %s: use --subnet %s or omit --subnet",
				p, fam.Range, fam.Range)
		}
		prefix = p
	case f == agent.IPv6:
		// Docker (since 27.0; 20.10 as well) asks again for as long as an unrequested pool overlaps a
		// reserved prefix, and exempts only the literal 0.0.0.0/0: ::/0 overlaps every IPv6 nameserver
		// in resolv.conf, so it would spin forever. For IPv6 Docker reserves only the nameservers, never
		// the node's routes, so the agent's range itself passes, and is what the network really uses.
		prefix = fam.Range
	default:
		// 0.0.0.0/0: the agent routes its own range to cilium_host in the node, and Docker's IPv4 overlap
		// check against on-link routes would otherwise ask for another pool forever. Docker skips that
		// check for the all-zero pool. The addresses still come from the agent's range, and
		// --subnet <range> shows it in docker network inspect.
		prefix = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	gw := netip.PrefixFrom(fam.Router, fam.Router.BitLen())
	if prefix.Bits() > 0 {
		gw = netip.PrefixFrom(fam.Router, prefix.Bits())
	}
	return Pool{ID: id, Prefix: prefix, Gateway: gw}, nil
}

// family returns the agent's addressing for the family and its pool ID.
func (c *Core) family(ctx context.Context, f agent.IPFamily) (agent.Family, string, error) {
	cfg, err := c.agent.Config(ctx)
	if err != nil {
		return agent.Family{}, "", err
	}
	if f == agent.IPv6 {
		if !cfg.IPv6.Enabled {
			return agent.Family{}, "", errors.New("IPv6 was requested but cilium-agent has IPv6 disabled: create the network without --ipv6 or enable IPv6 in the agent")
		}
		return cfg.IPv6, PoolV6, nil
	}
	if !cfg.IPv4.Enabled {
		return agent.Family{}, "", errors.New("cilium-agent has IPv4 disabled")
	}
	return cfg.IPv4, PoolV4, nil
}

// ReleasePool accepts any pool: pools are views of the agent's range and hold nothing.
func (c *Core) ReleasePool(context.Context, string) error { return nil }

// RequestGateway answers Docker's gateway request with the agent's router address: no address is
// spent on it. A --gateway other than the router address is refused.
func (c *Core) RequestGateway(ctx context.Context, poolID string, want netip.Addr) (netip.Prefix, error) {
	f, err := poolFamily(poolID)
	if err != nil {
		return netip.Prefix{}, err
	}
	fam, _, err := c.family(ctx, f)
	if err != nil {
		return netip.Prefix{}, err
	}
	if want.IsValid() && want != fam.Router {
		return netip.Prefix{}, fmt.Errorf("gateway %s is not cilium-agent's router address %s: omit --gateway", want, fam.Router)
	}
	return host(fam.Router), nil
}

// RequestAddress allocates an address from the agent. With want set (docker run --ip, an aux address
// or a replay) it claims exactly want or fails.
func (c *Core) RequestAddress(ctx context.Context, poolID string, want netip.Addr) (netip.Prefix, error) {
	return c.RequestAddressFor(ctx, poolID, want, "")
}

// RequestAddressFor is RequestAddress for the container called name (Docker 29 names it in the
// request), which the book keeps for Join: it is the only moment the agent takes a name, and Join
// may be unable to ask Docker.
func (c *Core) RequestAddressFor(ctx context.Context, poolID string, want netip.Addr, name string) (netip.Prefix, error) {
	f, err := poolFamily(poolID)
	if err != nil {
		return netip.Prefix{}, err
	}
	fam, _, err := c.family(ctx, f)
	if err != nil {
		return netip.Prefix{}, err
	}
	if want.IsValid() {
		if !fam.Range.Contains(want) {
			return netip.Prefix{}, fmt.Errorf("address %s is outside cilium-agent's node range %s", want, fam.Range)
		}
		if want == fam.Router {
			return netip.Prefix{}, fmt.Errorf("address %s is cilium-agent's router address", want)
		}
		defer c.track.Address(want)()
		if err := c.agent.Claim(ctx, want, Owner); err != nil {
			if errors.Is(err, agent.ErrConflict) {
				return netip.Prefix{}, fmt.Errorf("address %s is already in use", want)
			}
			return netip.Prefix{}, err
		}
		c.book.allocated(want, "", name)
		return host(want), nil
	}
	a, err := c.agent.Allocate(ctx, f, Owner, true)
	if err != nil {
		return netip.Prefix{}, err
	}
	c.track.Address(a.IP)() // handed to Docker: not yet in any endpoint Docker lists
	c.book.allocated(a.IP, a.ExpirationUUID, name)
	return host(a.IP), nil
}

// ReleaseAddress frees ip only when this plugin allocated it and no endpoint took it; every other
// case (router address, address freed by the agent with its endpoint, unknown or already released
// address) is success without touching the agent.
func (c *Core) ReleaseAddress(ctx context.Context, poolID string, ip netip.Addr) error {
	if _, err := poolFamily(poolID); err != nil {
		return err
	}
	e, ok := c.book.releasable(ip)
	if !ok {
		// Not one this process must free: Docker lets go of it, so the reconciler may free it (an
		// address the previous process handed out) without waiting for this call to age.
		return nil
	}
	defer c.track.Address(ip)()
	if err := c.agent.Release(ctx, ip); err != nil {
		return err
	}
	c.book.forget(ip, e)
	return nil
}

// host is ip as a single-address prefix, the form Docker expects.
func host(ip netip.Addr) netip.Prefix { return netip.PrefixFrom(ip, ip.BitLen()) }

func poolFamily(id string) (agent.IPFamily, error) {
	switch id {
	case PoolV4:
		return agent.IPv4, nil
	case PoolV6:
		return agent.IPv6, nil
	}
	return agent.IPv4, fmt.Errorf("unknown pool %q: this plugin's pools are %s and %s", id, PoolV4, PoolV6)
}
