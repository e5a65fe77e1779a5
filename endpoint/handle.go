package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// op is one bounded netlink operation: a NETLINK_ROUTE handle in the target netns, opened for this
// operation only, and the deadline that bounds every request made on it.
type op struct {
	ctx    context.Context
	cancel context.CancelFunc
	h      *netlink.Handle
}

// open starts an operation bounded by ctx and by v.timeout, whichever ends first. It fails, wrapping
// ctx.Err(), when ctx is already done.
func (v *Veths) open(ctx context.Context) (*op, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	h, err := newHandleIn(v.ns)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open netlink handle: %w", err)
	}
	return &op{ctx: ctx, cancel: cancel, h: h}, nil
}

// close releases the handle's socket. Nothing is buffered on it, so a close error is not actionable.
func (o *op) close() {
	_ = o.h.Close()
	o.cancel()
}

// arm bounds the next request by the time the operation has left.
func (o *op) arm() error {
	if err := o.ctx.Err(); err != nil {
		return err
	}
	deadline, _ := o.ctx.Deadline() // always set: open adds v.timeout
	left := time.Until(deadline)
	if left < time.Microsecond { // the smallest socket timeout netlink accepts
		return context.DeadlineExceeded
	}
	return o.h.SetSocketTimeout(left)
}

// newHandleIn opens a NETLINK_ROUTE handle whose socket lives in ns, or in the calling thread's netns
// when ns is not open (inNetns).
func newHandleIn(ns netns.NsHandle) (*netlink.Handle, error) {
	return inNetns(ns, func() (*netlink.Handle, error) { return netlink.NewHandle(unix.NETLINK_ROUTE) })
}

// isNotFound reports whether err says a link does not exist.
func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

// lookup returns the link called name, or nil (and no error) when there is none.
// Equivalent to: `ip link show dev $name`.
func (o *op) lookup(name string) (netlink.Link, error) {
	var l netlink.Link
	err := o.call("look up link", name, func() (err error) {
		l, err = o.h.LinkByName(name)
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// list returns every link in the netns. Equivalent to: `ip link show`.
func (o *op) list() ([]netlink.Link, error) {
	var ls []netlink.Link
	err := o.call("list links", "", func() (err error) {
		ls, err = o.h.LinkList()
		return err
	})
	return ls, err
}

// add creates l. Equivalent to: `ip link add …` (see Spec.veth for the veth form).
func (o *op) add(l netlink.Link) error {
	return o.call("add link", l.Attrs().Name, func() error { return o.h.LinkAdd(l) })
}

// del deletes l; a veth takes its peer with it. Equivalent to: `ip link del dev $name`.
func (o *op) del(l netlink.Link) error {
	return o.call("delete link", l.Attrs().Name, func() error { return o.h.LinkDel(l) })
}

// setAlias sets the link's IFLA_IFALIAS. Equivalent to: `ip link set dev $name alias $alias`.
func (o *op) setAlias(l netlink.Link, alias string) error {
	return o.call("set alias of link", l.Attrs().Name, func() error { return o.h.LinkSetAlias(l, alias) })
}

// setUp brings the link administratively up. Equivalent to: `ip link set dev $name up`.
func (o *op) setUp(l netlink.Link) error {
	return o.call("set link up", l.Attrs().Name, func() error { return o.h.LinkSetUp(l) })
}

// routeLink returns the index of the link of the route to ip. Equivalent to: `ip route get $ip`.
func (o *op) routeLink(ip netip.Addr) (int, error) {
	var routes []netlink.Route
	if err := o.call("get route to", ip.String(), func() (err error) {
		routes, err = o.h.RouteGet(ip.AsSlice())
		return err
	}); err != nil {
		return 0, err
	}
	if len(routes) == 0 {
		return 0, fmt.Errorf("no route to %s", ip)
	}
	return routes[0].LinkIndex, nil
}
