package identitygc

import (
	"context"

	"github.com/cilium/cilium/api/v1/models"
	"github.com/cilium/cilium/pkg/kvstore"
)

// The operations of kvstore.BackendOperations that RunGC never calls: each fails, or does nothing.

// Status is always Ok: the collector reports its own failures.
func (b *Backend) Status() *models.Status { return &models.Status{State: models.StatusStateOk} }

// StatusCheckErrors is nil: the collector runs no status check.
func (b *Backend) StatusCheckErrors() <-chan error { return nil }

// Get fails with errNotForGC: RunGC never calls it.
func (b *Backend) Get(context.Context, string) ([]byte, error) { return nil, errNotForGC }

// GetIfLocked fails with errNotForGC: RunGC never calls it.
func (b *Backend) GetIfLocked(context.Context, string, kvstore.KVLocker) ([]byte, error) {
	return nil, errNotForGC
}

// Delete fails with errNotForGC: RunGC never calls it.
func (b *Backend) Delete(context.Context, string) error { return errNotForGC }

// DeletePrefix fails with errNotForGC: RunGC never calls it.
func (b *Backend) DeletePrefix(context.Context, string) error { return errNotForGC }

// Update fails with errNotForGC: RunGC never calls it.
func (b *Backend) Update(context.Context, string, []byte, bool) error { return errNotForGC }

// UpdateIfLocked fails with errNotForGC: RunGC never calls it.
func (b *Backend) UpdateIfLocked(context.Context, string, []byte, bool, kvstore.KVLocker) error {
	return errNotForGC
}

// UpdateIfDifferent fails with errNotForGC: RunGC never calls it.
func (b *Backend) UpdateIfDifferent(context.Context, string, []byte, bool) (bool, error) {
	return false, errNotForGC
}

// UpdateIfDifferentIfLocked fails with errNotForGC: RunGC never calls it.
func (b *Backend) UpdateIfDifferentIfLocked(context.Context, string, []byte, bool, kvstore.KVLocker) (bool, error) {
	return false, errNotForGC
}

// CreateOnly fails with errNotForGC: RunGC never calls it.
func (b *Backend) CreateOnly(context.Context, string, []byte, bool) (bool, error) {
	return false, errNotForGC
}

// CreateOnlyIfLocked fails with errNotForGC: RunGC never calls it.
func (b *Backend) CreateOnlyIfLocked(context.Context, string, []byte, bool, kvstore.KVLocker) (bool, error) {
	return false, errNotForGC
}

// ListAndWatch returns a closed channel: the collector watches nothing.
func (b *Backend) ListAndWatch(context.Context, string) kvstore.EventChan {
	ch := make(chan kvstore.KeyValueEvent)
	close(ch)
	return ch
}

// RegisterLeaseExpiredObserver does nothing: the collector observes no lease.
func (b *Backend) RegisterLeaseExpiredObserver(string, func(string)) {}

// RegisterLockLeaseExpiredObserver does nothing: the collector observes no lease.
func (b *Backend) RegisterLockLeaseExpiredObserver(string, func(string)) {}

// UserEnforcePresence fails with errNotForGC: RunGC never calls it.
func (b *Backend) UserEnforcePresence(context.Context, string, []string) error { return errNotForGC }

// UserEnforceAbsence fails with errNotForGC: RunGC never calls it.
func (b *Backend) UserEnforceAbsence(context.Context, string) error { return errNotForGC }
