package endpoint

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestDeleteIdempotent(t *testing.T) {
	e := newTestEnv(t)
	s := testSpec(t, "ep", 2)
	l := e.mustCreate(s)
	for i := range 2 {
		if err := e.v.Delete(t.Context(), s.EndpointID); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	e.assertAbsent(l.Host, l.Container)
	if _, err := e.v.Get(t.Context(), s.EndpointID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	if err := e.v.Delete(t.Context(), MustParseID(sha256Hex("never created"))); err != nil {
		t.Errorf("Delete of an endpoint never created = %v, want nil", err)
	}
}

func TestDeleteStrayContainerSide(t *testing.T) {
	e := newTestEnv(t)
	s := testSpec(t, "ep", 2)
	n := NamesFor(s.EndpointID)
	e.mustAdd(nonVeth(n.Container)) // stands in for a peer moved back under its SrcName, host side gone
	if err := e.v.Delete(t.Context(), s.EndpointID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	e.assertAbsent(n.Host, n.Container)
}

func TestGetRejectsForeignLinks(t *testing.T) {
	tests := []struct {
		name string
		link func(n Names) netlink.Link
		want string
	}{
		{"bridge", func(n Names) netlink.Link { return nonVeth(n.Host) }, "not a veth"},
		{"no alias", func(n Names) netlink.Link { return veth(n.Host, "cdtestpeer", "") }, "alias"},
		{"foreign alias", func(n Names) netlink.Link { return veth(n.Host, "cdtestpeer", "someone else") }, "alias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			id := MustParseID(sha256Hex(t.Name()))
			e.mustAdd(tt.link(NamesFor(id)))
			_, err := e.v.Get(t.Context(), id)
			if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Get = %v, want an error about %q that is not ErrNotFound", err, tt.want)
			}
		})
	}
}

func TestListOwned(t *testing.T) {
	e := newTestEnv(t)
	if owned, err := e.v.ListOwned(t.Context()); err != nil || len(owned) != 0 {
		t.Fatalf("ListOwned on an empty netns = %+v, %v; want nothing", owned, err)
	}
	specs := map[string]Spec{} // by host name
	for i, tag := range []string{"a", "b", "c"} {
		s := testSpec(t, tag, byte(10+i))
		specs[e.mustCreate(s).Host] = s
	}
	e.mustAdd(veth("cdtestplain", "cdtestplainp", ""))
	e.mustAdd(veth("cdtestother", "cdtestotherp", "cilium-docker/v2 not ours"))
	e.mustAdd(nonVeth("cdtestbridge"))

	owned, err := e.v.ListOwned(t.Context())
	if err != nil {
		t.Fatalf("ListOwned: %v", err)
	}
	var got, want []string
	for host := range specs {
		want = append(want, host)
	}
	for _, l := range owned {
		got = append(got, l.Host)
		s, ok := specs[l.Host]
		if !ok {
			continue
		}
		fromGet, err := e.v.Get(t.Context(), s.EndpointID)
		if err != nil || !linkEqual(&l, fromGet) {
			t.Errorf("ListOwned entry %+v, Get = %+v, %v; want equal", l, fromGet, err)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ListOwned hosts = %q, want %q", got, want)
	}

	// A malformed alias with our prefix is reported, and the good links still come back.
	e.mustAdd(veth("cdtestbad", "cdtestbadp", aliasPrefix+"garbage"))
	owned, err = e.v.ListOwned(t.Context())
	if err == nil || !strings.Contains(err.Error(), `"cdtestbad"`) {
		t.Errorf("ListOwned with a malformed alias: error %v, want one naming \"cdtestbad\"", err)
	}
	if len(owned) != len(want) {
		t.Errorf("ListOwned with a malformed alias returned %d links, want %d", len(owned), len(want))
	}
}

func TestDoneContext(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline passed", expired, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			s := testSpec(t, "ep", 2)
			n := NamesFor(s.EndpointID)
			if _, err := e.v.Create(tc.ctx, s); !errors.Is(err, tc.want) {
				t.Errorf("Create = %v, want %v", err, tc.want)
			}
			e.assertAbsent(n.Host, n.Container)

			e.mustCreate(s)
			if _, err := e.v.Get(tc.ctx, s.EndpointID); !errors.Is(err, tc.want) {
				t.Errorf("Get = %v, want %v", err, tc.want)
			}
			if _, err := e.v.ListOwned(tc.ctx); !errors.Is(err, tc.want) {
				t.Errorf("ListOwned = %v, want %v", err, tc.want)
			}
			if err := e.v.Delete(tc.ctx, s.EndpointID); !errors.Is(err, tc.want) {
				t.Errorf("Delete = %v, want %v", err, tc.want)
			}
			if e.link(n.Host) == nil {
				t.Errorf("Delete with a done context removed %q", n.Host)
			}
		})
	}
}

// TestNewVethsCurrentNetns checks NewVeths works in the calling thread's netns, from a thread that
// entered the test netns and is discarded afterwards (never unlocked), so the host netns is untouched.
func TestNewVethsCurrentNetns(t *testing.T) {
	e := newTestEnv(t)
	s := testSpec(t, "ep", 2)
	type result struct {
		l   *Link
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := unix.Setns(int(e.ns), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		l, err := NewVeths(time.Second).Create(context.Background(), s)
		ch <- result{l, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("Create from the test netns: %v", r.err)
	}
	e.assertPair(s, r.l)
}

// TestTimeoutBoundsOperation checks the Veths timeout bounds an operation even under a context without
// a deadline.
func TestTimeoutBoundsOperation(t *testing.T) {
	e := newTestEnv(t)
	v := NewVethsAt(e.ns, time.Nanosecond)
	s := testSpec(t, "ep", 2)
	if _, err := v.Create(context.Background(), s); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Create = %v, want context.DeadlineExceeded", err)
	}
	n := NamesFor(s.EndpointID)
	e.assertAbsent(n.Host, n.Container)
}

func TestDeleteOwned(t *testing.T) {
	e := newTestEnv(t)
	s := testSpec(t, "ep", 2)
	l := e.mustCreate(s)
	owned, err := e.v.ListOwned(t.Context())
	if err != nil || len(owned) != 1 || owned[0].Host != l.Host {
		t.Fatalf("ListOwned = %v, %v; want the one pair", owned, err)
	}
	for i := range 2 { // the second time: gone is success
		if err := e.v.DeleteOwned(t.Context(), l.Host); err != nil {
			t.Fatalf("DeleteOwned #%d: %v", i+1, err)
		}
	}
	e.assertAbsent(l.Host, l.Container)

	foreign := NamesFor(MustParseID(sha256Hex("foreign")))
	e.mustAdd(veth(foreign.Host, "cdtestpeer", "someone else"))
	if err := e.v.DeleteOwned(t.Context(), foreign.Host); err == nil || !strings.Contains(err.Error(), "left alone") {
		t.Errorf("DeleteOwned of a link without this plugin's alias = %v, want it left alone", err)
	}
	if err := e.v.DeleteOwned(t.Context(), "eth0"); err == nil {
		t.Error("DeleteOwned(eth0) = nil, want a refusal")
	}
	if links, err := e.v.open(t.Context()); err == nil {
		defer links.close()
		if got, _ := links.lookup(foreign.Host); got == nil {
			t.Errorf("the foreign link %q was deleted", foreign.Host)
		}
	}
}

// A plugin killed between the add and the alias leaves an unfinished pair: ListUnfinished reports it
// and DeleteOwned removes it; a veth named otherwise, or aliased by someone else, is neither.
func TestUnfinishedPair(t *testing.T) {
	e := newTestEnv(t)
	s := testSpec(t, "ep", 2)
	n := NamesFor(s.EndpointID)
	o, err := e.v.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	if err := o.add(s.veth(n)); err != nil { // only the add, as if killed right after it
		t.Fatalf("add: %v", err)
	}
	other := NamesFor(MustParseID(sha256Hex("other")))
	e.mustAdd(veth(other.Host, other.Container, "someone else"))
	e.mustAdd(veth("lxc0123456789ab", "tmp01234", "")) // Cilium CNI's naming
	got, err := e.v.ListUnfinished(t.Context())
	if err != nil || !slices.Equal(got, []string{n.Host}) {
		t.Fatalf("ListUnfinished = %v, %v; want [%s]", got, err, n.Host)
	}
	if err := e.v.DeleteOwned(t.Context(), n.Host); err != nil {
		t.Fatal(err)
	}
	e.assertAbsent(n.Host, n.Container)
	if err := e.v.DeleteOwned(t.Context(), other.Host); err == nil {
		t.Error("DeleteOwned of a pair aliased by someone else = nil, want it left alone")
	}
}
