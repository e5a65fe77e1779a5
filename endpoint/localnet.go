package endpoint

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	mnl "github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ipv4DevconfRouteLocalnet is IPV4_DEVCONF_ROUTE_LOCALNET of linux/ip.h (x/sys/unix lacks it): the
// index of route_localnet among an IPv4 device's settings (IFLA_INET_CONF).
const ipv4DevconfRouteLocalnet = 26

// allowLocalnet lets the kernel route 127/8 addresses through the devices the loopback mappings of
// eid use: the device of the route to ctr (a DNATed connection to 127.0.0.1 leaves through it with a
// 127/8 source until the masquerade) and the endpoint's host link (the replies come in through it with
// a 127/8 destination after the reverse NAT). The kernel drops both as martians otherwise; Docker sets
// the same on its bridge. What else it would let in, a packet to 127/8 from a container or another
// host, the table's guard drops (guard.go). It is set over rtnetlink, not /proc/sys, which a hardened
// service (ProtectKernelTunables) or a plugin container sees read-only.
// Equivalent to: `sysctl -w net.ipv4.conf.{$(ip route get $ctr | dev),$host}.route_localnet=1`.
func (p *Ports) allowLocalnet(ctx context.Context, eid ID, ctr netip.Addr) error {
	return p.setLocalnet(ctx, eid, ctr, true, true)
}

// disallowLocalnet undoes allowLocalnet when eid's loopback mappings go: on eid's host link, and on the
// device of the route to ctr too when routeToo (no other endpoint's loopback mapping is left, and they
// all share that device: the agent's cilium_host). A link or route already gone is nothing to undo.
// Equivalent to: `sysctl -w net.ipv4.conf.{$host,$(ip route get $ctr | dev)}.route_localnet=0`.
func (p *Ports) disallowLocalnet(ctx context.Context, eid ID, ctr netip.Addr, routeToo bool) error {
	return p.setLocalnet(ctx, eid, ctr, routeToo, false)
}

func (p *Ports) setLocalnet(ctx context.Context, eid ID, ctr netip.Addr, routeToo, on bool) error {
	o, err := (&Veths{ns: p.ns, timeout: p.timeout}).open(ctx)
	if err != nil {
		return err
	}
	defer o.close()
	var idx []int
	if routeToo {
		out, err := o.routeLink(ctr)
		switch {
		case err == nil:
			idx = append(idx, out)
		case on:
			return err
		}
	}
	if host, err := o.lookup(NamesFor(eid).Host); err != nil {
		return err
	} else if host != nil && !slices.Contains(idx, host.Attrs().Index) {
		idx = append(idx, host.Attrs().Index)
	}
	for _, i := range idx {
		if err := setRouteLocalnet(o.ctx, p.ns, i, on); err != nil && (on || !isNotFound(err)) {
			return fmt.Errorf("set route_localnet=%t on link %d: %w", on, i, err)
		}
	}
	return nil
}

// setRouteLocalnet sets route_localnet (1 when on) on the link with index idx in ns: RTM_SETLINK with
// IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { ROUTE_LOCALNET: 0|1 } } }, bounded by ctx's deadline.
func setRouteLocalnet(ctx context.Context, ns netns.NsHandle, idx int, on bool) error {
	cfg := &mnl.Config{}
	if ns.IsOpen() {
		cfg.NetNS = int(ns)
	}
	c, err := mnl.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		return fmt.Errorf("dial rtnetlink: %w", err)
	}
	defer c.Close()
	if deadline, ok := ctx.Deadline(); ok {
		if err := c.SetDeadline(deadline); err != nil {
			return fmt.Errorf("rtnetlink deadline: %w", err)
		}
	}
	ae := mnl.NewAttributeEncoder()
	ae.Nested(unix.IFLA_AF_SPEC, func(af *mnl.AttributeEncoder) error {
		af.Nested(unix.AF_INET, func(in *mnl.AttributeEncoder) error {
			in.Nested(unix.IFLA_INET_CONF, func(conf *mnl.AttributeEncoder) error {
				var v uint32
				if on {
					v = 1
				}
				conf.Uint32(ipv4DevconfRouteLocalnet, v)
				return nil
			})
			return nil
		})
		return nil
	})
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	ifi := make([]byte, unix.SizeofIfInfomsg) // family AF_UNSPEC, type 0, flags and change 0
	binary.NativeEndian.PutUint32(ifi[4:8], uint32(idx))
	_, err = c.Execute(mnl.Message{
		Header: mnl.Header{Type: unix.RTM_SETLINK, Flags: mnl.Request | mnl.Acknowledge},
		Data:   append(ifi, attrs...),
	})
	return err
}
