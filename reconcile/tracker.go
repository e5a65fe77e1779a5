package reconcile

import (
	"net/netip"
	"sync"
	"time"

	"github.com/cilium-docker/cilium-docker/endpoint"
)

// Tracker is the handlers' in-flight set: every endpoint and address a plugin call works on, with
// the time it last did. The reconciler leaves alone what a handler works on now or worked on since
// the first of the two passes that found it unexplained: Docker records an endpoint only after
// CreateEndpoint answered and removes it before DeleteEndpoint is called, so a starting or stopping
// container's state is briefly unexplained by Docker while a handler holds it.
type Tracker struct {
	mu  sync.Mutex
	eps map[endpoint.ID]*mark // guarded by mu
	ips map[netip.Addr]*mark  // guarded by mu
	now func() time.Time
}

type mark struct {
	active int       // handlers working on it now
	last   time.Time // when a handler last began or ended work on it
}

// NewTracker returns an empty in-flight set.
func NewTracker() *Tracker {
	return &Tracker{eps: map[endpoint.ID]*mark{}, ips: map[netip.Addr]*mark{}, now: time.Now}
}

// Endpoint records that a handler works on eid until done is called.
func (t *Tracker) Endpoint(eid endpoint.ID) (done func()) { return begin(t, t.eps, eid) }

// Address records that a handler works on ip until done is called. An invalid ip is ignored.
func (t *Tracker) Address(ip netip.Addr) (done func()) {
	if !ip.IsValid() {
		return func() {}
	}
	return begin(t, t.ips, ip)
}

func begin[K comparable](t *Tracker, m map[K]*mark, k K) func() {
	t.mu.Lock()
	defer t.mu.Unlock()
	mk, ok := m[k]
	if !ok {
		mk = &mark{}
		m[k] = mk
	}
	mk.active++
	mk.last = t.now()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			mk.active--
			mk.last = t.now()
		})
	}
}

// busySince returns the endpoints and addresses a handler works on now or worked on at or after
// since, and forgets marks idle since before forget.
func (t *Tracker) busySince(since, forget time.Time) (map[endpoint.ID]bool, map[netip.Addr]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return busyLocked(t.eps, since, forget), busyLocked(t.ips, since, forget)
}

func busyLocked[K comparable](m map[K]*mark, since, forget time.Time) map[K]bool {
	out := map[K]bool{}
	for k, mk := range m {
		switch {
		case mk.active > 0 || !mk.last.Before(since):
			out[k] = true
		case mk.last.Before(forget):
			delete(m, k)
		}
	}
	return out
}
