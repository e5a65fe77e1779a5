package endpoint

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// inNetns runs create in ns, or in the calling thread's netns when ns is not open. It is for what
// keeps its netns for life once created (a socket): create runs on a fresh goroutine whose locked
// thread enters ns and is never unlocked, so the runtime discards that thread instead of reusing it
// in the wrong netns (no restore step that could fail).
func inNetns[T any](ns netns.NsHandle, create func() (T, error)) (T, error) {
	if !ns.IsOpen() {
		return create()
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := unix.Setns(int(ns), unix.CLONE_NEWNET); err != nil {
			var zero T
			ch <- result{zero, fmt.Errorf("enter netns %s: %w", ns, err)}
			return
		}
		v, err := create()
		ch <- result{v, err}
	}()
	r := <-ch
	return r.v, r.err
}
