package mlrun_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// gatedStore is a store whose LogBatch waits while the gate is closed and
// records the size of every batch it is given.
type gatedStore struct {
	store.Store
	mu      sync.Mutex
	gate    chan struct{} // LogBatch waits for it to be closed
	entered chan struct{} // receives once per LogBatch call that waits
	sizes   [][3]int      // metrics, params, tags of each LogBatch
}

func newGatedStore(s store.Store) *gatedStore {
	g := &gatedStore{Store: s, gate: make(chan struct{}), entered: make(chan struct{}, 1000)}
	close(g.gate)
	return g
}

// hold makes LogBatch wait until the returned func is called.
func (g *gatedStore) hold() (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	g.gate = ch
	g.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (g *gatedStore) LogBatch(ctx context.Context, runID string, m []store.Metric, p []store.Param, t []store.Tag) error {
	g.mu.Lock()
	gate := g.gate
	g.sizes = append(g.sizes, [3]int{len(m), len(p), len(t)})
	g.mu.Unlock()
	select {
	case <-gate:
	default:
		g.entered <- struct{}{}
		<-gate
	}
	return g.Store.LogBatch(ctx, runID, m, p, t)
}

func (g *gatedStore) batchSizes() [][3]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][3]int(nil), g.sizes...)
}

// openGated opens a client of backend b through a gatedStore.
func openGated(t *testing.T, b backend) (*mlrun.Client, *gatedStore) {
	t.Helper()
	base, _ := b.open(t)
	g := newGatedStore(base.Store())
	c, err := mlrun.Open(context.Background(), mlrun.WithStore(g))
	if err != nil {
		t.Fatal(err)
	}
	return c, g
}

// TestAsyncOrderAndCompleteness: an asynchronous run logging from many
// goroutines stores every point once, every param, and each tag's last
// value (the queue is written in order); nothing is visible before the
// writer runs, everything after Flush.
func TestAsyncOrderAndCompleteness(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, _ := b.open(t)
		run, err := c.StartRun(ctx, mlrun.WithAsyncLogging())
		if err != nil {
			t.Fatal(err)
		}
		const workers, points = 4, 1500
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				key := fmt.Sprintf("m%d", w)
				for i := range points {
					v := float64(i) / 3
					if i == 7 {
						v = math.NaN()
					}
					if err := run.LogMetric(ctx, key, v, mlrun.WithStep(int64(i)), mlrun.WithTimestamp(int64(1000+i))); err != nil {
						t.Error(err)
						return
					}
					if i%10 == 0 {
						// The same tag key again and again: the last value wins.
						if err := run.SetTag(ctx, key, fmt.Sprint(i)); err != nil {
							t.Error(err)
						}
						if err := run.LogParam(ctx, fmt.Sprintf("p%d_%d", w, i), i); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Wait()
		if err := run.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := run.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		params := map[string]string{}
		for _, p := range got.Data.Params {
			params[p.Key] = p.Value
		}
		tags := map[string]string{}
		for _, tg := range got.Data.Tags {
			tags[tg.Key] = tg.Value
		}
		for w := range workers {
			key := fmt.Sprintf("m%d", w)
			h, err := c.GetMetricHistory(ctx, run.ID(), key)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != points {
				t.Errorf("%s: %d points, want %d", key, len(h), points)
			}
			seen := map[int64]bool{}
			for _, m := range h {
				want := float64(m.Step) / 3
				if m.Step == 7 {
					if !math.IsNaN(m.Value) {
						t.Errorf("%s step 7 = %v, want NaN", key, m.Value)
					}
				} else if m.Value != want || m.Timestamp != 1000+m.Step {
					t.Errorf("%s point %+v", key, m)
				}
				if seen[m.Step] {
					t.Errorf("%s step %d twice", key, m.Step)
				}
				seen[m.Step] = true
			}
			if tags[key] != fmt.Sprint(points-points%10) && tags[key] != fmt.Sprint((points-1)/10*10) {
				t.Errorf("tag %s = %q, want the last value %d", key, tags[key], (points-1)/10*10)
			}
			for i := 0; i < points; i += 10 {
				if params[fmt.Sprintf("p%d_%d", w, i)] != fmt.Sprint(i) {
					t.Errorf("param p%d_%d = %q", w, i, params[fmt.Sprintf("p%d_%d", w, i)])
				}
			}
		}
		if err := run.End(ctx); err != nil {
			t.Fatal(err)
		}
		if err := run.LogMetric(ctx, "late", 1); !errors.Is(err, store.ErrInvalidState) {
			t.Errorf("LogMetric after End = %v, want ErrInvalidState", err)
		}
	})
}

// TestAsyncBatching: what queues while a write is in flight goes out in
// merged batches within MLflow's limits, a repeated param or tag key
// starting a new batch; End flushes the queue.
func TestAsyncBatching(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, g := openGated(t, b)
		run, err := c.StartRun(ctx, mlrun.WithAsyncLogging())
		if err != nil {
			t.Fatal(err)
		}
		release := g.hold()
		if err := run.LogMetric(ctx, "first", 1); err != nil {
			t.Fatal(err)
		}
		<-g.entered // the writer holds the first point
		for i := range 4500 {
			if err := run.LogMetric(ctx, "loss", float64(i), mlrun.WithStep(int64(i))); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 250 {
			if err := run.LogParam(ctx, fmt.Sprintf("p%03d", i), i); err != nil {
				t.Fatal(err)
			}
		}
		if err := run.SetTag(ctx, "t", "1"); err != nil {
			t.Fatal(err)
		}
		if err := run.SetTag(ctx, "t", "2"); err != nil {
			t.Fatal(err)
		}
		release()
		if err := run.End(ctx); err != nil {
			t.Fatal(err)
		}
		sizes := g.batchSizes()
		total := [3]int{}
		for _, s := range sizes {
			if s[0] > 1000 || s[1] > 100 || s[2] > 100 || s[0]+s[1]+s[2] > 1000 {
				t.Errorf("batch %v beyond MLflow's limits", s)
			}
			for i := range total {
				total[i] += s[i]
			}
		}
		if total != [3]int{4501, 250, 2} {
			t.Errorf("batches carried %v, want 4501 metrics, 250 params, 2 tags", total)
		}
		// 1 + ceil(4500/1000)=5 metric batches + the param rest; far fewer
		// than the 4753 calls.
		if len(sizes) > 10 {
			t.Errorf("%d batches for 4753 calls: the queue is not merged (%v)", len(sizes), sizes)
		}
		r, err := c.GetRun(ctx, run.ID())
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range r.Data.Tags {
			if tg.Key == "t" && tg.Value != "2" {
				t.Errorf("tag t = %q, want the later value 2", tg.Value)
			}
		}
		if len(r.Data.Params) != 250 || r.Info.Status != store.StatusFinished {
			t.Errorf("%d params, status %v", len(r.Data.Params), r.Info.Status)
		}
	})
}

// TestAsyncFirstError: a write the store refuses (a param changed) is
// returned by Flush, by every later Flush, by Err and by End; what is
// logged after it is still written; invalid input is refused at once.
func TestAsyncFirstError(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, _ := b.open(t)
		run, err := c.StartRun(ctx, mlrun.WithAsyncLogging())
		if err != nil {
			t.Fatal(err)
		}
		if err := run.LogMetric(ctx, "bad key?", 1); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("invalid metric key: %v, want ErrInvalidParameter at once", err)
		}
		// The refused call is the run's sticky error, not a write error.
		if err := run.Flush(ctx); err != nil {
			t.Errorf("Flush after a refused call = %v, want nil (no write failed)", err)
		}
		if err := run.End(ctx); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("End = %v, want the refused call's error", err)
		}
		run2, err := c.StartRun(ctx, mlrun.WithAsyncLogging())
		if err != nil {
			t.Fatal(err)
		}
		if err := run2.LogParam(ctx, "lr", 0.1); err != nil {
			t.Fatal(err)
		}
		if err := run2.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := run2.LogParam(ctx, "lr", 0.2); err != nil {
			t.Fatalf("queued LogParam = %v, want nil (the store answers later)", err)
		}
		err = run2.Flush(ctx)
		if !errors.Is(err, store.ErrInvalidParameter) {
			t.Fatalf("Flush = %v, want the store's ErrInvalidParameter for the changed param", err)
		}
		if err := run2.LogMetric(ctx, "after", 5); err != nil {
			t.Fatal(err)
		}
		if err2 := run2.Flush(ctx); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("second Flush = %v, want the first error again", err2)
		}
		if err2 := run2.Err(); err2 == nil {
			t.Error("Err = nil after a failed write")
		}
		h, err := c.GetMetricHistory(ctx, run2.ID(), "after")
		if err != nil || len(h) != 1 {
			t.Errorf("point queued after the failed write: %v, %v", h, err)
		}
		if err := run2.End(ctx); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("End = %v, want the write error", err)
		}
		r, err := c.GetRun(ctx, run2.ID())
		if err != nil || r.Info.Status != store.StatusFinished {
			t.Errorf("run after End: %+v, %v", r, err)
		}
	})
}

// TestAsyncContext: with the writer stuck, a call that finds the queue
// full waits and returns its ctx's error (queuing nothing), Flush and End
// return their ctx's error at once and the run stays RUNNING; once the
// store answers, End writes everything.
func TestAsyncContext(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, g := openGated(t, b)
		run, err := c.StartRun(ctx, mlrun.WithAsyncLogging(mlrun.AsyncQueueSize(10)))
		if err != nil {
			t.Fatal(err)
		}
		release := g.hold()
		defer release()
		for i := range 10 {
			if err := run.LogMetric(ctx, "m", float64(i), mlrun.WithStep(int64(i))); err != nil {
				t.Fatal(err)
			}
		}
		<-g.entered
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := run.LogMetric(short, "m", 99, mlrun.WithStep(99)); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("LogMetric on a full queue = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d < 40*time.Millisecond || d > 5*time.Second {
			t.Errorf("LogMetric waited %v, want about the ctx's 50ms", d)
		}
		cancelled, cancel2 := context.WithCancel(ctx)
		cancel2()
		if err := run.Flush(cancelled); !errors.Is(err, context.Canceled) {
			t.Errorf("Flush(cancelled) = %v", err)
		}
		if err := run.End(cancelled); !errors.Is(err, context.Canceled) {
			t.Errorf("End(cancelled) = %v", err)
		}
		r, err := c.GetRun(ctx, run.ID())
		if err != nil || r.Info.Status != store.StatusRunning {
			t.Fatalf("after End(cancelled): %+v, %v; want RUNNING", r, err)
		}
		// A goroutine waiting for room gets in once the store answers.
		var admitted atomic.Bool
		done := make(chan error, 1)
		go func() {
			err := run.LogMetric(ctx, "m", 10, mlrun.WithStep(10))
			admitted.Store(true)
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		if admitted.Load() {
			t.Error("LogMetric on a full queue did not wait")
		}
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// The point refused on its ctx is the run's first error.
		if err := run.End(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("End = %v, want the refused call's DeadlineExceeded", err)
		}
		if r, err := c.GetRun(ctx, run.ID()); err != nil || r.Info.Status != store.StatusFinished {
			t.Errorf("after End: %+v, %v; want FINISHED", r, err)
		}
		h, err := c.GetMetricHistory(ctx, run.ID(), "m")
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 11 {
			t.Errorf("%d points, want 11 (steps 0-10; the refused step 99 not)", len(h))
		}
		for _, m := range h {
			if m.Step == 99 {
				t.Error("the point refused on ctx is stored")
			}
		}
	})
}

// TestAsyncEnv: MLFLOW_ENABLE_ASYNC_LOGGING=true makes runs asynchronous
// (a call returns while the store is stuck), WithoutAsyncLogging turns it
// off, and a bad value is an error, as in MLflow.
func TestAsyncEnv(t *testing.T) {
	ctx := context.Background()
	c, g := openGated(t, backends[0])
	t.Setenv(mlrun.EnvEnableAsyncLogging, "TRUE")
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	release := g.hold()
	done := make(chan error, 1)
	go func() { done <- run.LogMetric(ctx, "m", 1) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("LogMetric of an asynchronous run waited for the store")
	}
	<-g.entered // the writer is in the store
	release()
	if err := run.End(ctx); err != nil {
		t.Fatal(err)
	}

	sync, err := c.StartRun(ctx, mlrun.WithoutAsyncLogging())
	if err != nil {
		t.Fatal(err)
	}
	release = g.hold()
	go func() { done <- sync.LogMetric(ctx, "m", 1) }()
	<-g.entered // the call itself is in the store
	select {
	case <-done:
		t.Error("a synchronous LogMetric returned before the store")
	case <-time.After(30 * time.Millisecond):
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := sync.End(ctx); err != nil {
		t.Fatal(err)
	}

	t.Setenv(mlrun.EnvEnableAsyncLogging, "yes")
	if _, err := c.StartRun(ctx); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("StartRun with %s=yes: %v, want ErrInvalidParameter", mlrun.EnvEnableAsyncLogging, err)
	}
	if _, err := c.StartRun(ctx, mlrun.WithAsyncLogging(mlrun.AsyncQueueSize(0))); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("AsyncQueueSize(0): %v", err)
	}
}
