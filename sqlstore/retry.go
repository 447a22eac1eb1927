package sqlstore

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff between retries of a transaction that found the database busy.
const (
	retryBaseDelay = 2 * time.Millisecond
	retryMaxDelay  = 200 * time.Millisecond
)

// retry runs fn, and runs it again while it fails because the database is
// busy (SQLITE_BUSY or SQLITE_LOCKED), sleeping a jittered, exponentially
// growing delay in between, for at most the busy timeout in total. Most
// waits for a lock happen inside SQLite, which retries a blocked statement
// for up to busy_timeout; what reaches this loop are the cases SQLite
// reports at once (a WAL snapshot that went stale, WAL recovery by another
// connection, a checkpoint in the way) and the end of a busy timeout. The
// last error is returned when the time is up or ctx is done.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(s.busyTimeout)
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !isBusy(err) || !time.Now().Before(deadline) {
			return err
		}
		d := min(retryBaseDelay<<min(attempt, 16), retryMaxDelay)
		d = d/2 + rand.N(d/2+1) // "equal jitter": [d/2, d]
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}
