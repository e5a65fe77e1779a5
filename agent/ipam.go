package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/cilium/cilium/api/v1/client/ipam"
)

// pool is the only pool the agent has in cluster-pool/kubernetes-less mode; releases need it named.
const pool = "default"

// Allocation is an address the agent handed out.
type Allocation struct {
	IP netip.Addr
	// ExpirationUUID stops the agent's expiration timer when sent in the endpoint create.
	ExpirationUUID string
}

// Allocate asks the agent for a free address of the family (POST /ipam). With expire set the agent
// frees the address again after its expiration time unless an endpoint create claims it, so an
// address whose container never started cannot leak.
func (c *Client) Allocate(ctx context.Context, fam IPFamily, owner string, expire bool) (Allocation, error) {
	family := fam.String()
	var out Allocation
	err := c.do(ctx, c.timeouts.Call, "allocate "+family+" address", "", func(ctx context.Context) error {
		p := ipam.NewPostIpamParamsWithContext(ctx).WithFamily(&family).WithOwner(&owner).WithExpiration(&expire)
		resp, err := c.api.Ipam.PostIpam(p)
		if err != nil {
			return err
		}
		a := resp.Payload
		if a == nil {
			return fmt.Errorf("empty answer")
		}
		r := a.IPv4
		if fam == IPv6 {
			r = a.IPv6
		}
		if r == nil {
			return fmt.Errorf("answer has no %s address", family)
		}
		ip, err := netip.ParseAddr(r.IP)
		if err != nil {
			return fmt.Errorf("address %q: %w", r.IP, err)
		}
		out = Allocation{IP: ip, ExpirationUUID: r.ExpirationUUID}
		return nil
	})
	return out, err
}

// Claim allocates exactly ip (POST /ipam/{ip}); errors.Is(err, ErrConflict) when it is taken. The
// API documents 409 for that; a v1.19.3 agent answers 500 "provided IP is already allocated".
func (c *Client) Claim(ctx context.Context, ip netip.Addr, owner string) error {
	p := pool
	err := c.do(ctx, c.timeouts.Call, "claim address", ip.String(), func(ctx context.Context) error {
		_, err := c.api.Ipam.PostIpamIP(ipam.NewPostIpamIPParamsWithContext(ctx).
			WithIP(ip.String()).WithOwner(&owner).WithPool(&p))
		return err
	})
	var failure *ipam.PostIpamIPFailure
	if errors.As(err, &failure) && strings.Contains(string(failure.Payload), "already allocated") {
		return fmt.Errorf("claim address %s: %w", ip, ErrConflict)
	}
	return err
}

// Release frees ip (DELETE /ipam/{ip}?pool=default). An address that is already free is success.
func (c *Client) Release(ctx context.Context, ip netip.Addr) error {
	p := pool
	return c.do(ctx, c.timeouts.Call, "release address", ip.String(), func(ctx context.Context) error {
		_, err := c.api.Ipam.DeleteIpamIP(ipam.NewDeleteIpamIPParamsWithContext(ctx).WithIP(ip.String()).WithPool(&p))
		if statusCode(err) == 404 {
			return nil
		}
		return err
	})
}
