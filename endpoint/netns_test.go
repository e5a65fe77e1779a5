package endpoint

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// skipUnlessRoot skips privileged tests when not root and under -short (tier a runs unprivileged).
func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("privileged test: skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("privileged test: needs root")
	}
}

// newTestNS returns a fresh, unnamed network namespace that lives until t's cleanup closes the last
// descriptor to it (its links go with it). It is created by unshare on a goroutine whose locked thread
// is never unlocked, so no thread of the test process is ever left in it, and the host netns is never
// entered or changed. Nothing appears in `ip netns list`.
func newTestNS(t *testing.T) netns.NsHandle {
	t.Helper()
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{netns.None(), fmt.Errorf("unshare netns: %w", err)}
			return
		}
		ns, err := netns.Get()
		ch <- result{ns, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("new test netns: %v", r.err)
	}
	t.Cleanup(func() {
		if err := r.ns.Close(); err != nil {
			t.Errorf("close test netns: %v", err)
		}
	})
	return r.ns
}

// testEnv is one privileged test's world: a throwaway netns, a Veths bound to it and a netlink handle
// to inspect it.
type testEnv struct {
	t  *testing.T
	ns netns.NsHandle
	v  *Veths
	h  *netlink.Handle
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	skipUnlessRoot(t)
	guardHostNetns(t)
	ns := newTestNS(t)
	h, err := newHandleIn(ns)
	if err != nil {
		t.Fatalf("inspection handle: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return &testEnv{t: t, ns: ns, v: NewVethsAt(ns, 5*time.Second), h: h}
}

// guardHostNetns fails the test if it leaves a link named like ours in the host netns.
func guardHostNetns(t *testing.T) {
	t.Helper()
	before := hostLinkNames(t)
	t.Cleanup(func() {
		after := hostLinkNames(t)
		for _, name := range after {
			if !slices.Contains(before, name) {
				t.Errorf("host netns gained link %q", name)
			}
		}
	})
}

// hostLinkNames lists the links of the host netns that tests of this package could create. Unlocked
// goroutines run on threads in the process's (host) netns.
func hostLinkNames(t *testing.T) []string {
	t.Helper()
	h, err := newHandleIn(netns.None())
	if err != nil {
		t.Fatalf("host netlink handle: %v", err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		t.Fatalf("list host links: %v", err)
	}
	var names []string
	for _, l := range links {
		name := l.Attrs().Name
		if strings.HasPrefix(name, hostPrefix) || strings.HasPrefix(name, containerPrefix) ||
			strings.HasPrefix(name, "cdtest") || strings.HasPrefix(l.Attrs().Alias, aliasPrefix) {
			names = append(names, name)
		}
	}
	return names
}

// link returns the link called name in the test netns, or nil.
func (e *testEnv) link(name string) netlink.Link {
	e.t.Helper()
	l, err := e.h.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("look up %q: %v", name, err)
	}
	return l
}

// assertAbsent fails unless no link of the given names exists in the test netns.
func (e *testEnv) assertAbsent(names ...string) {
	e.t.Helper()
	for _, name := range names {
		if l := e.link(name); l != nil {
			e.t.Errorf("link %q (%s) still exists", name, l.Type())
		}
	}
}

// mustAdd creates a link in the test netns, outside the code under test, and sets its alias if any.
func (e *testEnv) mustAdd(l netlink.Link) {
	e.t.Helper()
	if err := e.h.LinkAdd(l); err != nil {
		e.t.Fatalf("add link %q: %v", l.Attrs().Name, err)
	}
	if alias := l.Attrs().Alias; alias != "" {
		if err := e.h.LinkSetAlias(l, alias); err != nil {
			e.t.Fatalf("set alias of %q: %v", l.Attrs().Name, err)
		}
	}
}

// nonVeth is a link called name of another type (a bridge: built into kernels that run Docker, where
// the dummy module may be missing).
func nonVeth(name string) *netlink.Bridge {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	return &netlink.Bridge{LinkAttrs: attrs}
}

// veth is a plain veth pair host/peer with an optional alias.
func veth(host, peer, alias string) *netlink.Veth {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = host
	attrs.Alias = alias
	v := netlink.NewVeth(attrs)
	v.PeerName = peer
	return v
}

// macEqual compares MACs by value.
func macEqual(a, b net.HardwareAddr) bool { return a.String() == b.String() }
