package main

import (
	"sync"

	"github.com/sirupsen/logrus"
)

// group owns a set of named goroutines: Go starts one, Wait waits for all of them. A goroutine's
// error is logged once, with its name ("reconciler stopped"); the goroutines end with the context
// their function was given, which the group's owner cancels.
type group struct {
	log *logrus.Entry
	wg  sync.WaitGroup
}

func newGroup(log *logrus.Entry) *group { return &group{log: log} }

// Go runs f in a goroutine of the group named name.
func (g *group) Go(name string, f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.log.WithError(err).Error(name + " stopped")
		}
	}()
}

// Wait returns once every goroutine of the group returned.
func (g *group) Wait() { g.wg.Wait() }
