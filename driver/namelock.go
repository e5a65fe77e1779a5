package driver

import "sync"

// nameLocks serialises work per name: callers with the same name run one at a time, while other names
// go on. A name's entry lives while someone holds or awaits it.
type nameLocks struct {
	mu sync.Mutex
	m  map[string]*nameLock // guarded by mu
}

type nameLock struct {
	sync.Mutex
	waiters int // guarded by nameLocks.mu: holders and waiters
}

// lock takes name's lock and returns its release.
func (l *nameLocks) lock(name string) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*nameLock{}
	}
	nl, ok := l.m[name]
	if !ok {
		nl = &nameLock{}
		l.m[name] = nl
	}
	nl.waiters++
	l.mu.Unlock()
	nl.Lock()
	return func() {
		nl.Unlock()
		l.mu.Lock()
		if nl.waiters--; nl.waiters == 0 {
			delete(l.m, name)
		}
		l.mu.Unlock()
	}
}
