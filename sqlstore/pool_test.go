package sqlstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/store"
)

// TestConcurrentReadsColdStatements has 16 goroutines (more than the
// connection pool holds) read a run with a tag and a param at once on a
// fresh store, whose statements are not prepared yet. Each read
// transaction prepares statements, which needs a second connection for a
// moment: without a bound on open transactions every connection ended up
// held by a transaction waiting for another one, and the reads hung.
func TestConcurrentReadsColdStatements(t *testing.T) {
	for round := range 3 {
		s := newStore(t, "")
		r := createRun(t, s, "0", "r")
		must(t, s.LogBatch(ctx, r.Info.RunID, nil, []store.Param{{Key: "p", Value: "1"}}, []store.Tag{{Key: "t", Value: "v"}}))
		s.Close()
		s = openAt(t, s.Path(), "") // an empty statement cache
		done := make(chan struct{})
		go func() {
			defer close(done)
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					if _, err := s.GetRun(ctx, r.Info.RunID); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("round %d: 16 concurrent GetRun calls did not finish in 60 s (connection pool deadlock)", round)
		}
	}
}
