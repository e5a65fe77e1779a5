package identitygc

import (
	"context"

	"github.com/cilium/cilium/api/v1/models"
	"github.com/cilium/cilium/pkg/kvstore"
)

// The operations of kvstore.BackendOperations that RunGC never calls: each fails, or does nothing.

func (b *Backend) Status() *models.Status { return &models.Status{State: models.StatusStateOk} }

func (b *Backend) StatusCheckErrors() <-chan error { return nil }

func (b *Backend) Get(context.Context, string) ([]byte, error) { return nil, errNotForGC }

func (b *Backend) GetIfLocked(context.Context, string, kvstore.KVLocker) ([]byte, error) {
	return nil, errNotForGC
}

func (b *Backend) Delete(context.Context, string) error { return errNotForGC }

func (b *Backend) DeletePrefix(context.Context, string) error { return errNotForGC }

func (b *Backend) Update(context.Context, string, []byte, bool) error { return errNotForGC }

func (b *Backend) UpdateIfLocked(context.Context, string, []byte, bool, kvstore.KVLocker) error {
	return errNotForGC
}

func (b *Backend) UpdateIfDifferent(context.Context, string, []byte, bool) (bool, error) {
	return false, errNotForGC
}

func (b *Backend) UpdateIfDifferentIfLocked(context.Context, string, []byte, bool, kvstore.KVLocker) (bool, error) {
	return false, errNotForGC
}

func (b *Backend) CreateOnly(context.Context, string, []byte, bool) (bool, error) {
	return false, errNotForGC
}

func (b *Backend) CreateOnlyIfLocked(context.Context, string, []byte, bool, kvstore.KVLocker) (bool, error) {
	return false, errNotForGC
}

// ListAndWatch returns a closed channel: the collector watches nothing.
func (b *Backend) ListAndWatch(context.Context, string) kvstore.EventChan {
	ch := make(chan kvstore.KeyValueEvent)
	close(ch)
	return ch
}

func (b *Backend) RegisterLeaseExpiredObserver(string, func(string)) {}

func (b *Backend) RegisterLockLeaseExpiredObserver(string, func(string)) {}

func (b *Backend) UserEnforcePresence(context.Context, string, []string) error { return errNotForGC }

func (b *Backend) UserEnforceAbsence(context.Context, string) error { return errNotForGC }
