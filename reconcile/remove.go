package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/agent"
	"github.com/cilium-docker/cilium-docker/endpoint"
)

// remove removes what both passes found unexplained and no handler touched since the first began.
// Agent endpoints go first: the agent frees their addresses with them.
func (r *Reconciler) remove(ctx context.Context, prev, cur *snapshot) error {
	busyEps, busyIPs := r.tracker.busySince(prev.start.Add(-allocationsLag), cur.start.Add(-time.Hour))
	busyHosts := map[string]bool{}
	for eid := range busyEps {
		busyHosts[endpoint.NamesFor(eid).Host] = true
	}
	var errs []error
	fail := func(err error) {
		r.failures.Add(1)
		errs = append(errs, err)
	}
	for eid, id := range cur.eps {
		if _, ok := prev.eps[eid]; !ok || busyEps[eid] {
			continue
		}
		deleted, err := r.agent.DeleteEndpoint(ctx, agent.AttachmentID(endpoint.Attachment(eid)))
		if err != nil {
			fail(fmt.Errorf("remove agent endpoint %d of docker endpoint %s: %w", id, eid, err))
			continue
		}
		if !deleted {
			continue // gone since the pass read it
		}
		r.removed(ctx, eid)
		r.endpoints.Add(1)
		r.log.WithFields(logrus.Fields{"endpoint": id, "docker-endpoint": eid}).
			Info("removed agent endpoint no Docker endpoint explains")
	}
	for host, l := range cur.links {
		if _, ok := prev.links[host]; !ok || busyHosts[host] {
			continue
		}
		if err := r.links.DeleteOwned(ctx, host); err != nil {
			fail(err)
			continue
		}
		r.linksRemoved.Add(1)
		r.log.WithFields(logrus.Fields{"link": host, "network": l.NetworkID, "ipv4": l.IPv4}).
			Info("removed host link no Docker endpoint explains")
	}
	for eid := range cur.ports {
		if !prev.ports[eid] || busyEps[eid] {
			continue
		}
		if err := r.ports.Unpublish(ctx, eid); err != nil {
			fail(err)
			continue
		}
		r.portsRemoved.Add(1)
		r.log.WithField("docker-endpoint", eid).Info("removed published ports no Docker endpoint explains")
	}
	for ip := range cur.ips {
		if !prev.ips[ip] || busyIPs[ip] {
			continue
		}
		if err := r.release(ctx, ip); err != nil {
			fail(err)
			continue
		}
	}
	return errors.Join(errs...)
}

// release frees ip after a last, uncached look that no endpoint holds it.
func (r *Reconciler) release(ctx context.Context, ip netip.Addr) error {
	prefix := "ipv4:"
	if ip.Is6() {
		prefix = "ipv6:"
	}
	ep, err := r.agent.Endpoint(ctx, prefix+ip.String())
	switch {
	case err == nil:
		r.log.WithFields(logrus.Fields{"ip": ip, "endpoint": ep.ID}).Debug("address taken by an endpoint since the pass: kept")
		return nil
	case !errors.Is(err, agent.ErrNotFound):
		return fmt.Errorf("release address %s: %w", ip, err)
	}
	if err := r.agent.Release(ctx, ip); err != nil {
		return err
	}
	r.addresses.Add(1)
	r.log.WithField("ip", ip).Info("released address no Docker endpoint or agent endpoint explains")
	return nil
}
