package ipam

import (
	"net/netip"
	"sync"
	"time"
)

// state says who frees an address.
type state int

const (
	// allocated: handed to Docker, no agent endpoint holds it yet. Docker's ReleaseAddress frees it.
	allocated state = iota + 1
	// bound: an agent endpoint holds it. The agent frees it when that endpoint is deleted.
	bound
	// freedByAgent: its endpoint was deleted, so the agent freed it. Docker's coming ReleaseAddress is a
	// no-op: the address may already belong to another container.
	freedByAgent
)

// tombstoneTTL bounds how long a freedByAgent entry waits for Docker's ReleaseAddress.
const tombstoneTTL = 10 * time.Minute

type entry struct {
	state state
	// uuid stops the agent's expiration timer when the endpoint that takes the address is created.
	uuid string
	// name is the container's name, when Docker's RequestAddress told it.
	name string
	at   time.Time
	// stale: the address was handed out again while a freedByAgent tombstone still waited for
	// Docker's release of the old container; that release, when it comes, is not this entry's.
	stale bool
}

// Book records every address this plugin process handed out, so that each address is freed by
// exactly one party, once: the plugin frees addresses no endpoint took; the agent frees the address
// of an endpoint it deletes; addresses the plugin lost track of (it restarted) are freed by the
// agent's expiration timer, never by a guess.
type Book struct {
	mu      sync.Mutex
	entries map[netip.Addr]*entry // guarded by mu
	now     func() time.Time
}

// NewBook returns an empty book.
func NewBook() *Book {
	return &Book{entries: map[netip.Addr]*entry{}, now: time.Now}
}

func (b *Book) allocated(ip netip.Addr, uuid, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked()
	e := &entry{state: allocated, uuid: uuid, name: name, at: b.now()}
	if old, ok := b.entries[ip]; ok && old.state == freedByAgent {
		e.stale = true
	}
	b.entries[ip] = e
}

// releasable reports whether Docker's ReleaseAddress of ip must free it at the agent, and forgets ip
// when the answer is final. A true answer comes with the entry to hand to forget.
func (b *Book) releasable(ip netip.Addr) (*entry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[ip]
	if !ok {
		return nil, false
	}
	switch e.state {
	case allocated:
		if e.stale { // the old container's release: the address is the new one's now
			e.stale = false
			return nil, false
		}
		return e, true
	case freedByAgent:
		delete(b.entries, ip)
	}
	return nil, false
}

// forget drops e, the entry of ip, after the plugin freed ip; an entry made since (the agent handed
// ip out again while it was being freed) stays.
func (b *Book) forget(ip netip.Addr, e *entry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.entries[ip] == e {
		delete(b.entries, ip)
	}
}

// ExpirationUUID returns the agent's expiration UUID of an address this process allocated, if any.
func (b *Book) ExpirationUUID(ip netip.Addr) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.entries[ip]; ok && e.state == allocated {
		return e.uuid
	}
	return ""
}

// knows returns the expiration UUID of ip when this process handed ip out and no endpoint took it
// yet; ok is also true, with no UUID, when an endpoint took it (a repeated Join). ok is false when the
// book has no such entry: the plugin restarted since, or ip is not ours.
func (b *Book) knows(ip netip.Addr) (uuid string, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, found := b.entries[ip]
	switch {
	case found && e.state == allocated:
		return e.uuid, true
	case found && e.state == bound:
		return "", true
	}
	return "", false
}

// containerName returns the container name recorded with ip while no endpoint holds it yet.
func (b *Book) containerName(ip netip.Addr) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.entries[ip]; ok && e.state == allocated {
		return e.name
	}
	return ""
}

// Bound records that an agent endpoint now holds ip: from now on the agent frees it.
func (b *Book) Bound(ip netip.Addr) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entries[ip] = &entry{state: bound, at: b.now()}
}

// FreedByAgent records that the endpoint holding ip was deleted, so the agent freed ip.
func (b *Book) FreedByAgent(ip netip.Addr) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked()
	b.entries[ip] = &entry{state: freedByAgent, at: b.now()}
}

// pruneLocked drops tombstones Docker never consumed (its ReleaseAddress got lost).
func (b *Book) pruneLocked() {
	now := b.now()
	for ip, e := range b.entries {
		if e.state == freedByAgent && now.Sub(e.at) > tombstoneTTL {
			delete(b.entries, ip)
		}
	}
}

// Counts returns how many addresses this process handed out that no endpoint holds yet, and how many
// agent endpoints hold.
func (b *Book) Counts() (unbound, held int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.entries {
		switch e.state {
		case allocated:
			unbound++
		case bound:
			held++
		}
	}
	return unbound, held
}
