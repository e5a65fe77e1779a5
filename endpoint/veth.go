package endpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrNotFound is wrapped by Get when the endpoint has no host link.
var ErrNotFound = errors.New("link not found")

// DefaultTimeout bounds each operation (a whole veth create: add, alias, up, read back) of a Veths or
// Ports built with a non-positive timeout. Every step waits for the kernel's rtnl lock, which a burst
// of container starts holds for seconds at a time (5 s lost 1 start in 100 in
// TestBurstUnderTheAgentsDefaultLimits); 15 s stays well under a managed plugin's 30 s call timeout.
const DefaultTimeout = 15 * time.Second

// Veths creates, reads and deletes the veth pairs of Docker endpoints in one network namespace.
// Its methods are safe for concurrent use; each operation opens its own netlink socket.
type Veths struct {
	ns      netns.NsHandle          // target netns; not open = the calling thread's netns
	timeout time.Duration           // bounds each operation, on top of the caller's context
	hook    func(step string) error // nil outside tests: fails Create after the named step
}

// NewVeths works in the process's current netns (the node's, where dockerd and cilium-agent run).
// timeout bounds every operation on top of its context; ≤ 0 means DefaultTimeout.
func NewVeths(timeout time.Duration) *Veths {
	return NewVethsAt(netns.None(), timeout)
}

// NewVethsAt works in the netns ns, which the caller keeps open while the Veths is in use.
// timeout bounds every operation on top of its context; ≤ 0 means DefaultTimeout.
func NewVethsAt(ns netns.NsHandle, timeout time.Duration) *Veths {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Veths{ns: ns, timeout: timeout}
}

// Create makes the veth pair of s.EndpointID, leaving the container side down for Docker to move and
// configure. Equivalent to:
//
//	ip link add $host mtu $mtu address $hostmac type veth peer name $container mtu $mtu address $mac
//	ip link set dev $host alias "cilium-docker/v1 net=$net ipv4=$ipv4 ipv6=$ipv6 mac=$mac"
//	ip link set dev $host up
//
// Create is idempotent: a pair that already matches s is returned as it is (brought up if down); a
// differing one, left by a crash or an earlier spec, is deleted and created anew, as is a stray link
// holding the container-side name. On error nothing Create made is left behind.
func (v *Veths) Create(ctx context.Context, s Spec) (*Link, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("create veth: %w", err)
	}
	n := NamesFor(s.EndpointID)
	l, err := v.create(ctx, n, s)
	if err != nil {
		return nil, fmt.Errorf("create veth %q: %w", n.Host, err)
	}
	return l, nil
}

func (v *Veths) create(ctx context.Context, n Names, s Spec) (_ *Link, err error) {
	o, err := v.open(ctx)
	if err != nil {
		return nil, err
	}
	defer o.close()

	st := s.state()
	host, err := o.lookup(n.Host)
	if err != nil {
		return nil, err
	}
	if host != nil {
		ok, err := o.matches(host, n, s, st)
		if err != nil {
			return nil, err
		}
		if ok {
			if host.Attrs().Flags&net.FlagUp == 0 {
				if err := o.setUp(host); err != nil {
					return nil, err
				}
			}
			return linkFrom(host, st), nil
		}
	}
	if err := o.remove(n); err != nil {
		return nil, fmt.Errorf("remove stale pair: %w", err)
	}

	// One undo for the pair: deleting the host side takes the peer with it. It runs on its own
	// bounded operation, since o's deadline may be what failed.
	mayExist := true
	defer func() {
		if err != nil && mayExist {
			if uerr := v.remove(context.WithoutCancel(ctx), n); uerr != nil {
				err = errors.Join(err, fmt.Errorf("roll back: %w", uerr))
			}
		}
	}()
	veth := s.veth(n)
	if err = o.add(veth); err != nil {
		mayExist = !errors.Is(err, unix.EEXIST) // EEXIST: someone else's, not ours to undo
		return nil, err
	}
	if err = v.step("add"); err != nil {
		return nil, err
	}
	if err = o.setAlias(veth, st.String()); err != nil {
		return nil, err
	}
	if err = v.step("alias"); err != nil {
		return nil, err
	}
	if err = o.setUp(veth); err != nil {
		return nil, err
	}
	if err = v.step("up"); err != nil {
		return nil, err
	}
	got, err := o.lookup(n.Host) // read back what the kernel chose: ifindex, default MTU
	if err != nil {
		return nil, err
	}
	if got == nil {
		return nil, fmt.Errorf("link %q vanished after creation", n.Host)
	}
	return linkFrom(got, st), nil
}

// step runs the test hook after a Create step.
func (v *Veths) step(name string) error {
	if v.hook == nil {
		return nil
	}
	return v.hook(name)
}

// matches reports whether host and its peer are exactly the pair Create would make for s: a veth with
// the derived host MAC, the requested MTU (any, when s.MTU is 0) and alias, whose peer sits in this
// netns under the container-side name with the expected MAC and the same MTU.
func (o *op) matches(host netlink.Link, n Names, s Spec, st aliasState) (bool, error) {
	a := host.Attrs()
	if _, ok := host.(*netlink.Veth); !ok || a.NetNsID != -1 || a.Alias != st.String() ||
		!bytes.Equal(a.HardwareAddr, MACFor(s.EndpointID, HostSide)) || (s.MTU != 0 && a.MTU != s.MTU) {
		return false, nil
	}
	peer, err := o.lookup(n.Container)
	if err != nil || peer == nil {
		return false, err
	}
	p := peer.Attrs()
	return p.Index == a.ParentIndex && p.ParentIndex == a.Index &&
		bytes.Equal(p.HardwareAddr, st.ContainerMAC) && p.MTU == a.MTU, nil
}

// Get returns the pair of endpoint id as the kernel has it; the container MAC, network and addresses
// come from the host link's alias, so Get works after Docker moved the container side away. It wraps
// ErrNotFound when there is no host link. Equivalent to: `ip -d link show dev $host`.
func (v *Veths) Get(ctx context.Context, id ID) (*Link, error) {
	if id.IsZero() {
		return nil, errZeroID("get veth")
	}
	n := NamesFor(id)
	l, err := v.get(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("get veth %q: %w", n.Host, err)
	}
	return l, nil
}

func (v *Veths) get(ctx context.Context, n Names) (*Link, error) {
	o, err := v.open(ctx)
	if err != nil {
		return nil, err
	}
	defer o.close()
	host, err := o.lookup(n.Host)
	if err != nil {
		return nil, err
	}
	if host == nil {
		return nil, ErrNotFound
	}
	if _, ok := host.(*netlink.Veth); !ok {
		return nil, fmt.Errorf("link %q is a %q, not a veth", n.Host, host.Type())
	}
	st, err := parseAlias(host.Attrs().Alias)
	if err != nil {
		return nil, err
	}
	return linkFrom(host, st), nil
}

// Delete removes the pair of endpoint id: the host link (its peer goes with it) and, when the host link
// is gone, a stray container-side link Docker moved back into this netns. Absent links are success.
// Equivalent to: `ip link del dev $host; ip link del dev $container`.
func (v *Veths) Delete(ctx context.Context, id ID) error {
	if id.IsZero() {
		return errZeroID("delete veth")
	}
	n := NamesFor(id)
	if err := v.remove(ctx, n); err != nil {
		return fmt.Errorf("delete veth %q: %w", n.Host, err)
	}
	return nil
}

// remove runs o.remove on an operation of its own.
func (v *Veths) remove(ctx context.Context, n Names) error {
	o, err := v.open(ctx)
	if err != nil {
		return err
	}
	defer o.close()
	return o.remove(n)
}

// remove deletes the links called n.Host and n.Container, if present.
func (o *op) remove(n Names) error {
	for _, name := range []string{n.Host, n.Container} {
		l, err := o.lookup(name)
		if err != nil {
			return err
		}
		if l == nil {
			continue
		}
		if err := o.del(l); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}
