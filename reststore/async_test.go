package reststore_test

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/reststore"
	"github.com/mlrun-go/mlrun/reststore/internal/mlflowserver"
	"github.com/mlrun-go/mlrun/store"
)

// asyncRun returns an asynchronous mlrun handle, through s, on a run
// created directly (so that the create does not cross a faulty network).
func asyncRun(t *testing.T, direct, s *reststore.Store, name string) *mlrun.Run {
	t.Helper()
	r, err := direct.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: name})
	if err != nil {
		t.Fatal(err)
	}
	c, err := mlrun.Open(ctx, mlrun.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(mlrun.EnvEnableAsyncLogging, "true")
	run, err := c.ResumeRun(ctx, r.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// TestAsyncToServer: an asynchronous run logging from several goroutines
// to a real server stores every point once and each tag's last value.
func TestAsyncToServer(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			direct := openFresh(t, v)
			defer direct.Close()
			run := asyncRun(t, direct, direct, "async")
			const workers, perWorker = 4, 10
			l := newLedger()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range perWorker {
						b := w*perWorker + i
						if err := run.LogBatch(ctx, batchPoints(b), nil, []store.Tag{{Key: "last", Value: "x"}}); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			if err := run.SetTag(ctx, "last", "final"); err != nil {
				t.Fatal(err)
			}
			err := run.Flush(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for b := range workers * perWorker {
				l.record(b, err)
			}
			checkExactlyOnce(t, direct, run.ID(), l, workers*perWorker)
			if err := run.End(ctx); err != nil {
				t.Fatal(err)
			}
			r, err := direct.GetRun(ctx, run.ID())
			if err != nil {
				t.Fatal(err)
			}
			for _, tg := range r.Data.Tags {
				if tg.Key == "last" && tg.Value != "final" {
					t.Errorf("tag last = %q, want the value set last", tg.Value)
				}
			}
			if r.Info.Status != store.StatusFinished {
				t.Errorf("status %v", r.Info.Status)
			}
		})
	}
}

// TestAsyncFaultyNetwork: an asynchronous run through the loopback proxy
// that delays and drops connections: every point logged before a Flush
// that returned nil is stored exactly once.
func TestAsyncFaultyNetwork(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			direct := openFresh(t, v)
			defer direct.Close()
			srv := sharedServer(t, v)
			proxy, err := mlflowserver.NewFaultProxy(hostPort(t, srv.URL), 13, func(r *rand.Rand) mlflowserver.Fault {
				switch x := r.IntN(100); {
				case x < 55:
					return mlflowserver.Pass
				case x < 70:
					return mlflowserver.Delay
				case x < 85:
					return mlflowserver.DropAtOnce
				default:
					return mlflowserver.DropResponse
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			s := openVia(t, "http://"+proxy.Addr, faultHTTP(8, 20*time.Millisecond))
			run := asyncRun(t, direct, s, "async-faulty")
			const rounds, perRound = 20, 3
			l := newLedger()
			for r := range rounds {
				for i := range perRound {
					b := r*perRound + i
					if err := run.LogBatch(ctx, batchPoints(b), nil, nil); err != nil {
						t.Fatal(err)
					}
				}
				err := run.Flush(ctx)
				for i := range perRound {
					l.record(r*perRound+i, err)
				}
			}
			checkExactlyOnce(t, direct, run.ID(), l, rounds*perRound)
			_ = run.End(ctx)
			attempts, retries := s.HTTPClient().Stats()
			t.Logf("MLflow %s: %d of %d batches acknowledged by Flush; %d attempts, %d retries; proxy %v",
				v, len(l.acked), rounds*perRound, attempts, retries, proxy.Counts())
			if retries == 0 {
				t.Error("the proxy injected no faults")
			}
			if len(l.acked) < rounds*perRound*8/10 {
				t.Errorf("only %d of %d batches acknowledged: retries do not ride out the faults", len(l.acked), rounds*perRound)
			}
		})
	}
}

// TestAsyncRetriesRunOut: when every connection fails, the queued writes
// give up after the retries and Flush and End return the error.
func TestAsyncRetriesRunOut(t *testing.T) {
	v := versions()[len(versions())-1]
	direct := openFresh(t, v)
	defer direct.Close()
	srv := sharedServer(t, v)
	proxy, err := mlflowserver.NewFaultProxy(hostPort(t, srv.URL), 1, func(*rand.Rand) mlflowserver.Fault { return mlflowserver.Pass })
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	s := openVia(t, "http://"+proxy.Addr, faultHTTP(3, 10*time.Millisecond))
	run := asyncRun(t, direct, s, "async-out")
	proxy.SetChoose(func(*rand.Rand) mlflowserver.Fault { return mlflowserver.DropAtOnce })
	if err := run.LogBatch(ctx, batchPoints(0), nil, nil); err != nil {
		t.Fatalf("queued LogBatch = %v, want nil", err)
	}
	start := time.Now()
	err = run.Flush(ctx)
	if !errors.Is(err, mlflowhttp.ErrRetriesExhausted) {
		t.Errorf("Flush = %v, want ErrRetriesExhausted", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v", d)
	}
	proxy.SetChoose(func(*rand.Rand) mlflowserver.Fault { return mlflowserver.Pass })
	if err := run.End(ctx); !errors.Is(err, mlflowhttp.ErrRetriesExhausted) {
		t.Errorf("End = %v, want the write's ErrRetriesExhausted", err)
	}
	r, err := direct.GetRun(ctx, run.ID())
	if err != nil || r.Info.Status != store.StatusFinished {
		t.Errorf("after End: %+v, %v", r, err)
	}
}
