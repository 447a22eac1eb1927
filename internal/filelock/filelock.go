// Package filelock provides a mutual-exclusion lock that works across
// goroutines and processes, built on a well-known lock file locked with
// flock(2) (github.com/gofrs/flock; LockFileEx on Windows).
//
// The lock file guards other files; it is never the data file itself (a
// file replaced by rename would lose its lock) and it is never deleted
// (deleting a lock file lets two processes hold "the" lock on two inodes).
// Its presence therefore means nothing; only the flock on it does.
//
// flock locks belong to an open file description, so two opens of the same
// file in one process exclude each other just as two processes do. The race
// detector cannot see file locks, and a wait for one cannot be canceled, so
// each lock path is paired with an in-process semaphore: goroutines of one
// process queue on the semaphore (honoring context cancellation and the
// timeout) and only the holder of the semaphore polls the file lock.
//
// Locks are advisory and meant for local file systems.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// ErrTimeout is returned (wrapped, with the wait and the lock's path) by
// Lock when the lock could not be taken before the Mutex's timeout.
// Callers that report it to users translate it into their own error kind
// (fsstore and mlrun: store.ErrLocked).
var ErrTimeout = errors.New("timed out")

// DefaultTimeout is the longest Lock waits when Mutex.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Mutex is a lock on the file at Path. The zero Timeout means
// DefaultTimeout. A Mutex value may be copied and used by many goroutines:
// all state lives in a per-path table.
type Mutex struct {
	Path    string        // the lock file; created (0666 before umask) if missing, never removed
	Timeout time.Duration // the longest wait before Lock returns ErrTimeout
}

// sem is the in-process part of the lock on one path.
type sem struct {
	ch   chan struct{} // capacity 1: holding the token means holding the in-process lock
	refs int           // goroutines using this entry; guarded by table.mu
}

// table maps lock paths to their in-process semaphores.
var table = struct {
	mu sync.Mutex      // guards m and every sem.refs
	m  map[string]*sem // lock path -> semaphore; entries are dropped when refs reaches 0
}{m: map[string]*sem{}}

func acquireSem(path string) *sem {
	table.mu.Lock()
	defer table.mu.Unlock()
	s := table.m[path]
	if s == nil {
		s = &sem{ch: make(chan struct{}, 1)}
		table.m[path] = s
	}
	s.refs++
	return s
}

func releaseSem(path string, s *sem) {
	table.mu.Lock()
	defer table.mu.Unlock()
	s.refs--
	if s.refs == 0 {
		delete(table.m, path)
	}
}

// Lock takes the lock, waiting at most m.Timeout (and until ctx is done).
// It returns a function that releases the lock, which must be called
// exactly once. A wait that times out returns an error matching
// ErrTimeout; a canceled ctx returns ctx.Err().
func (m Mutex) Lock(ctx context.Context) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	s := acquireSem(m.Path)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case s.ch <- struct{}{}:
	case <-ctx.Done():
		releaseSem(m.Path, s)
		return nil, ctx.Err()
	case <-timer.C:
		releaseSem(m.Path, s)
		return nil, fmt.Errorf("%w after %v waiting for lock %s (held in this process)", ErrTimeout, timeout, m.Path)
	}
	fl, err := lockFile(ctx, m.Path, deadline, timeout)
	if err != nil {
		<-s.ch
		releaseSem(m.Path, s)
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = fl.Unlock() // unlocks, then closes the descriptor
			<-s.ch
			releaseSem(m.Path, s)
		})
	}, nil
}

// lockFile polls for the exclusive flock with jittered exponential backoff
// (50 µs up to 5 ms) until the deadline.
func lockFile(ctx context.Context, path string, deadline time.Time, timeout time.Duration) (*flock.Flock, error) {
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o666))
	delay := 50 * time.Microsecond
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("filelock: lock %s: %w", path, err)
		}
		if ok {
			return fl, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		now := time.Now()
		if !now.Before(deadline) {
			return nil, fmt.Errorf("%w after %v waiting for lock %s", ErrTimeout, timeout, path)
		}
		d := delay/2 + rand.N(delay/2+1)
		if rem := deadline.Sub(now); d > rem {
			d = rem
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		if delay < 5*time.Millisecond {
			delay *= 2
		}
	}
}
