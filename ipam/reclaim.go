package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// allocationsLag bounds how long a fresh allocation may be missing from the agent's allocation list
// (its status collector refreshes the list every 5 s).
const allocationsLag = 7 * time.Second

// Prepare returns the expiration UUID an endpoint create must carry for ip. When this process did not
// hand ip out (it restarted between Docker's RequestAddress and Join), the UUID died with the previous
// process and the agent would free the address under the running container when the timer fires:
// Prepare re-claims it first (Reclaim) and returns "".
func (c *Core) Prepare(ctx context.Context, ip netip.Addr, eid endpoint.ID) (string, error) {
	if uuid, ok := c.book.knows(ip); ok {
		return uuid, nil
	}
	return "", c.Reclaim(ctx, ip, eid)
}

// Reclaim makes the agent hold ip for this plugin with no expiration timer, for an endpoint about to
// take it: an address the agent does not hold (it restarted and forgot an allocation no endpoint held)
// is claimed; one it holds for this plugin under a timer this process has no UUID for is released and
// claimed again, which stops the timer; one held under eid's own agent endpoint (a repeated Join) is
// left as it is; one it holds for another owner or under another endpoint is refused.
func (c *Core) Reclaim(ctx context.Context, ip netip.Addr, eid endpoint.ID) error {
	defer c.track.Address(ip)()
	err := c.agent.Claim(ctx, ip, Owner)
	if err == nil {
		c.book.allocated(ip, "", "")
		return nil
	}
	if !errors.Is(err, agent.ErrConflict) {
		return fmt.Errorf("re-claim address %s: %w", ip, err)
	}
	owner, err := c.ownerOf(ctx, ip)
	if err != nil {
		return err
	}
	ep, err := c.agent.Endpoint(ctx, endpointByIP(ip))
	switch {
	case err == nil:
		if cid, ifName, ok := agent.Attachment(ep); ok && mine(eid, cid, ifName) {
			return nil // eid's own endpoint: a Join repeated after the first one made it
		}
		return fmt.Errorf("address %s is already in use by another endpoint: start the container again", ip)
	case !errors.Is(err, agent.ErrNotFound):
		return fmt.Errorf("re-claim address %s: %w", ip, err)
	}
	if owner != Owner {
		return fmt.Errorf("address %s is held by %q at cilium-agent, not by this plugin: start the container again", ip, owner)
	}
	// Ours, held by no endpoint: the previous process's allocation. Releasing stops its timer.
	if err := c.agent.Release(ctx, ip); err != nil {
		return fmt.Errorf("re-claim address %s: %w", ip, err)
	}
	if err := c.agent.Claim(ctx, ip, Owner); err != nil {
		if errors.Is(err, agent.ErrConflict) {
			return fmt.Errorf("address %s was handed to someone else while it was re-claimed: start the container again", ip)
		}
		return fmt.Errorf("re-claim address %s: %w", ip, err)
	}
	c.book.allocated(ip, "", "")
	return nil
}

// ownerOf reads who holds ip in the agent's allocation list, waiting out the list's refresh lag for
// an allocation it does not show yet.
func (c *Core) ownerOf(ctx context.Context, ip netip.Addr) (string, error) {
	deadline := time.Now().Add(allocationsLag)
	for {
		allocs, err := c.agent.Allocations(ctx)
		if err != nil {
			return "", fmt.Errorf("re-claim address %s: %w", ip, err)
		}
		if owner, ok := allocs[ip]; ok {
			return owner, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("address %s is allocated at cilium-agent but not listed: start the container again", ip)
		}
		t := time.NewTimer(500 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("re-claim address %s: %w", ip, ctx.Err())
		case <-t.C:
		}
	}
}

func endpointByIP(ip netip.Addr) string {
	if ip.Is6() {
		return "ipv6:" + ip.String()
	}
	return "ipv4:" + ip.String()
}

// Bound records that an agent endpoint now holds ip (see Book.Bound).
func (c *Core) Bound(ip netip.Addr) { c.book.Bound(ip) }

// FreedByAgent records that the endpoint holding ip was deleted (see Book.FreedByAgent).
func (c *Core) FreedByAgent(ip netip.Addr) { c.book.FreedByAgent(ip) }

// ContainerName returns the container name Docker gave when it requested ip, if it did (Docker 29+).
func (c *Core) ContainerName(ip netip.Addr) string { return c.book.containerName(ip) }

// mine reports whether the attachment containerID/containerIfName is eid's agent endpoint's.
func mine(eid endpoint.ID, containerID, containerIfName string) bool {
	got, ok := endpoint.ParseAttachment(containerID, containerIfName)
	return ok && got == eid
}
