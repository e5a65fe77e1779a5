package dirsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cilium-docker/cilium-docker/backoff"
	"github.com/cilium-docker/cilium-docker/metrics/syncreport"
	"github.com/cilium-docker/cilium-docker/policy/store"
)

// Store is what the sync needs from etcd (store.Store).
type Store interface {
	List(ctx context.Context) ([]store.Policy, int64, error)
	Watch(ctx context.Context, rev int64, changes chan<- store.Change) error
	PutStatus(ctx context.Context, st store.NodeStatus) error
}

// Options tune a Sync.
type Options struct {
	// Node names this node in the status keys.
	Node string
	// Cluster returns the agent's cluster name, for Cilium's parser ("" when unknown).
	Cluster func(ctx context.Context) string
	// AgentVersion is the agent's version, reported in the node's status ("" when unknown).
	AgentVersion string
	// Resync is how often the whole prefix is listed again, besides the watch (default 5 min).
	Resync time.Duration
	// MaxBackoff caps the wait between attempts while etcd is unreachable (default 10 s).
	MaxBackoff time.Duration
	// Report, when set, gets the sync's state after every pass and every failure.
	Report func(syncreport.Stats)
}

// Sync keeps Dir equal to the store's policies.
type Sync struct {
	log   *logrus.Entry
	store Store
	check Checker
	dir   Dir
	opt   Options

	// Only Run's goroutine uses these.
	inForce map[string]int64 // key -> revision of the document in its file
	lastErr map[string]string
	stats   syncreport.Stats
	checked map[string]verdict // key -> the last verdict on the key's document
}

// verdict is the check's answer on one document for one cluster name: a document is checked again only
// when its text or the cluster changes (a new revision, a resync lists the same ones).
type verdict struct {
	yaml, cluster string
	err           error
}

// New returns a sync of store into the directory path, each document checked with check before it is
// written; Run runs it.
func New(log *logrus.Entry, store Store, check Checker, path string, opt Options) *Sync {
	if opt.Resync <= 0 {
		opt.Resync = 5 * time.Minute
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 10 * time.Second
	}
	if opt.Cluster == nil {
		opt.Cluster = func(context.Context) string { return "" }
	}
	return &Sync{log: log, store: store, check: check, dir: Dir{Path: path, Owner: FromEtcd}, opt: opt,
		inForce: map[string]int64{}, lastErr: map[string]string{}, checked: map[string]verdict{}}
}

// Run syncs until ctx is done: list, apply, watch; on any failure it waits (with backoff) and lists
// again, the files left as they are meanwhile.
func (s *Sync) Run(ctx context.Context) error {
	wait := backoff.New(250*time.Millisecond, s.opt.MaxBackoff)
	for {
		err := s.round(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil { // a periodic resync
			wait.Reset()
			continue
		}
		s.log.WithError(err).Warn("policy sync: etcd unavailable, watch ended or check failed; the policies in force stay; retrying")
		s.stats.Errors++
		s.stats.Failing = true
		s.report()
		if !wait.Wait(ctx) {
			return nil
		}
	}
}

// round lists the prefix, applies it, then follows the watch until it fails, a check fails, or the
// resync period ends (nil).
func (s *Sync) round(ctx context.Context) error {
	pols, rev, err := s.store.List(ctx)
	if err != nil {
		return err
	}
	state := map[string]store.Policy{}
	for _, p := range pols {
		state[p.Key] = p
	}
	if err := s.apply(ctx, state, rev); err != nil {
		return err
	}

	wctx, cancel := context.WithTimeout(ctx, s.opt.Resync)
	changes := make(chan store.Change)
	done := make(chan error, 1)
	go func() { done <- s.store.Watch(wctx, rev, changes) }() // owned by round: cancelled and waited for below
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			s.log.WithError(err).Debug("policy sync: watch ended")
		}
	}()
	for {
		select {
		case c := <-changes:
			rev = s.change(state, c)
			for more := true; more; { // apply a burst of changes at once
				select {
				case c := <-changes:
					rev = s.change(state, c)
				default:
					more = false
				}
			}
			if err := s.apply(ctx, state, rev); err != nil {
				return err
			}
		case err := <-done:
			done <- err // for the deferred wait
			if errors.Is(err, context.DeadlineExceeded) && wctx.Err() != nil && ctx.Err() == nil {
				return nil
			}
			return err
		}
	}
}

func (s *Sync) change(state map[string]store.Policy, c store.Change) int64 {
	if c.Delete {
		delete(state, c.Key)
	} else {
		state[c.Key] = store.Policy{Key: c.Key, YAML: c.YAML, Revision: c.Revision}
	}
	return c.Revision
}

// apply makes the directory hold the valid documents of state and writes the node's status. A document
// that does not check keeps the file of its last good revision, if there is one. When the check itself
// fails, the documents it did not answer count as refused for this pass and apply returns the failure
// (Run then tries again, with backoff).
func (s *Sync) apply(ctx context.Context, state map[string]store.Policy, rev int64) error {
	st := store.NodeStatus{Node: s.opt.Node, Revision: rev, Applied: map[string]int64{}, Errors: map[string]string{}}
	owned, err := s.dir.Owned()
	if err != nil {
		st.Error = err.Error()
		s.log.WithError(err).Error("policy sync: read the policy directory")
		s.putStatus(ctx, st)
		s.stats.Errors++
		s.report()
		return nil
	}
	cluster := s.opt.Cluster(ctx)
	checkErr := s.checkAll(ctx, state, cluster)
	want := map[string]string{} // file -> content
	keyOf := map[string]string{}
	for key, p := range state {
		file, err := s.dir.FileName(key)
		if err != nil {
			st.Errors[key] = err.Error()
			continue
		}
		keyOf[file] = key
		if err := s.verdictOf(key, p.YAML, cluster, checkErr); err != nil {
			st.Errors[key] = fmt.Sprintf("revision %d not applied: %v", p.Revision, err)
			if old, ok := owned[file]; ok {
				want[file] = old // the last good revision stays in force
				if r, ok := s.inForce[key]; ok {
					st.Applied[key] = r
				}
			}
			continue
		}
		want[file] = p.YAML
		st.Applied[key] = p.Revision
	}
	for file, content := range want {
		key := keyOf[file]
		if owned[file] == content {
			continue
		}
		if err := s.dir.Write(file, content); err != nil {
			st.Errors[key] = err.Error()
			delete(st.Applied, key)
			continue
		}
		s.log.WithFields(logrus.Fields{"policy": key, "revision": st.Applied[key], "file": file}).Info("policy written")
	}
	for file := range owned {
		if _, ok := want[file]; ok {
			continue
		}
		if err := s.dir.Remove(file); err != nil {
			st.Error = err.Error()
			continue
		}
		key, _ := s.dir.KeyOf(file)
		s.log.WithFields(logrus.Fields{"policy": key, "file": file}).Info("policy removed")
	}
	for key, msg := range st.Errors {
		if s.lastErr[key] != msg {
			s.log.WithFields(logrus.Fields{"policy": key}).Error("policy sync: " + msg)
			s.stats.Errors++
		}
	}
	s.lastErr = st.Errors
	s.inForce = st.Applied
	s.putStatus(ctx, st)
	s.stats.Revision, s.stats.Refused, s.stats.Failing = rev, len(st.Errors), checkErr != nil
	s.report()
	return checkErr
}

func (s *Sync) report() {
	if s.opt.Report != nil {
		s.opt.Report(s.stats)
	}
}

// checkAll checks the documents of state that have no verdict for their text and the cluster yet, all
// in one call, and forgets the verdicts of keys no longer in state.
func (s *Sync) checkAll(ctx context.Context, state map[string]store.Policy, cluster string) error {
	for key := range s.checked {
		if _, ok := state[key]; !ok {
			delete(s.checked, key)
		}
	}
	var docs []Document
	for key, p := range state {
		if v, ok := s.checked[key]; ok && v.yaml == p.YAML && v.cluster == cluster {
			continue
		}
		docs = append(docs, Document{Key: key, YAML: p.YAML})
	}
	if len(docs) == 0 {
		return nil
	}
	errs, err := s.check.Check(ctx, cluster, docs)
	if err == nil && len(errs) != len(docs) {
		err = fmt.Errorf("policy check: %d verdicts for %d documents", len(errs), len(docs))
	}
	if err != nil {
		return err
	}
	for i, d := range docs {
		s.checked[d.Key] = verdict{yaml: d.YAML, cluster: cluster, err: errs[i]}
	}
	return nil
}

// verdictOf is the check's verdict on the key's document: checkErr when the check failed and left it
// without one.
func (s *Sync) verdictOf(key, yaml, cluster string, checkErr error) error {
	if v, ok := s.checked[key]; ok && v.yaml == yaml && v.cluster == cluster {
		return v.err
	}
	if checkErr != nil {
		return fmt.Errorf("not checked: %w", checkErr)
	}
	return errors.New("not checked")
}

func (s *Sync) putStatus(ctx context.Context, st store.NodeStatus) {
	st.AgentVersion = s.opt.AgentVersion
	st.Updated = time.Now().UTC()
	if err := s.store.PutStatus(ctx, st); err != nil {
		s.log.WithError(err).Warn("policy sync: write the node's status")
	}
}
