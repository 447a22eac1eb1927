// Package storegate is the entry gate of mlrun's tracking stores (fsstore
// and sqlstore): every store method passes it before doing anything else.
//
// Enter and EnterWrite check, in this order, the context (a nil context
// is store.ErrInvalidParameter, a done one its ctx.Err()), that the store
// is not closed (store.ErrClosed), for a write that the store was not
// opened read-only (store.ErrReadOnly), and then the request's stateless
// checks, which the caller passes as the errors of store.Validate*
// functions. Both backends thus refuse the same request with the same
// error, in the same order. A method that entered holds the gate (a read
// lock) until it calls Leave, so Close waits for the methods in flight.
package storegate

import (
	"context"
	"sync"

	"github.com/mlrun-go/mlrun/store"
)

// Gate is the entry gate of one store. Create it with New; it must not be
// copied.
type Gate struct {
	name     string // "fsstore: store /path", the start of its messages
	readOnly bool   // EnterWrite fails with store.ErrReadOnly

	mu     sync.RWMutex // held for reading by every method in flight; guards closed
	closed bool
}

// New returns the gate of the store at location, of the given backend
// ("fsstore", "sqlstore"), which names both in its errors.
func New(backend, location string, readOnly bool) *Gate {
	return &Gate{name: backend + ": store " + location, readOnly: readOnly}
}

// Enter starts a method that reads: it fails on a nil or done ctx, after
// Close, or with the first non-nil error of checks. On success the caller
// must call Leave exactly once.
func (g *Gate) Enter(ctx context.Context, checks ...error) error {
	return g.enter(ctx, false, checks)
}

// EnterWrite is Enter for a method that writes: on a store opened
// read-only it fails with store.ErrReadOnly, before the request's checks.
func (g *Gate) EnterWrite(ctx context.Context, checks ...error) error {
	return g.enter(ctx, true, checks)
}

func (g *Gate) enter(ctx context.Context, write bool, checks []error) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	g.mu.RLock()
	err := g.refusal(write, checks)
	if err != nil {
		g.mu.RUnlock()
	}
	return err
}

// refusal is why an entry is refused, or nil; g.mu is held for reading.
func (g *Gate) refusal(write bool, checks []error) error {
	if g.closed {
		return store.Errorf(store.ErrClosed, "%s is closed", g.name)
	}
	if write && g.readOnly {
		return g.ErrReadOnly()
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// Leave ends a method that entered.
func (g *Gate) Leave() { g.mu.RUnlock() }

// ErrReadOnly returns the error of a write on a store opened read-only,
// for the store's own second line of defence behind EnterWrite.
func (g *Gate) ErrReadOnly() error {
	return store.ReadOnlyf("%s was opened read-only (Options.ReadOnly)", g.name)
}

// Close closes the gate once the methods in flight have left, and runs
// release (the store's own closing) under it; later entries fail with
// store.ErrClosed. A second Close does nothing and returns nil.
func (g *Gate) Close(release func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return release()
}
