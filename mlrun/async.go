package mlrun

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/mlrun-go/mlrun/store"
)

// EnvEnableAsyncLogging is the environment variable that makes every run
// StartRun starts or ResumeRun resumes log asynchronously (see
// [WithAsyncLogging]) when it is true or 1, as MLflow's
// MLFLOW_ENABLE_ASYNC_LOGGING.
const EnvEnableAsyncLogging = "MLFLOW_ENABLE_ASYNC_LOGGING"

// DefaultAsyncQueueSize is the number of metrics, params and tags an
// asynchronous run holds in its queue (queued or being written) before a
// logging call waits for room.
const DefaultAsyncQueueSize = 100_000

// AsyncOption configures [WithAsyncLogging].
type AsyncOption func(*asyncConfig) error

type asyncConfig struct {
	enabled   bool
	queueSize int
	ctx       context.Context // of the writes (set by resolveAsync)
}

// AsyncQueueSize sets how many metrics, params and tags the queue holds
// (default [DefaultAsyncQueueSize]); n must be at least 1.
func AsyncQueueSize(n int) AsyncOption {
	return func(c *asyncConfig) error {
		if n < 1 {
			return store.Invalidf("mlrun: async queue size %d must be at least 1", n)
		}
		c.queueSize = n
		return nil
	}
}

// WithAsyncLogging makes the run log asynchronously, as MLflow's
// synchronous=False: LogMetric, LogMetrics, LogParam, LogParams, SetTag,
// SetTags and LogBatch check their input, put it in a bounded queue and
// return; a goroutine writes the queue in order, merged into batches
// within MLflow's log-batch limits (1000 metrics, 100 params, 100 tags,
// 1000 in all). Without this option (or [WithoutAsyncLogging]) StartRun
// does so when MLFLOW_ENABLE_ASYNC_LOGGING is true or 1.
//
// Errors of the writes arrive later: [Run.Flush] waits for everything
// logged before it and returns the first error of any write; [Run.End]
// flushes first and returns it too (and [Run.Err] reports it). A write
// the store refuses loses its whole batch, which may hold the points of
// several calls queued together, as with MLflow's queue; the writer goes
// on with the rest of the queue.
//
// When the queue is full a logging call blocks until the writer has made
// room, or until its ctx is done (then it returns ctx's error and queues
// nothing), as MLflow's logging calls block on its queue. A single call
// larger than the queue waits for the queue to empty and is then admitted
// whole.
//
// DeleteTag, which must not overtake the tags queued before it, flushes
// the queue first. The artifact and model methods write directly.
func WithAsyncLogging(opts ...AsyncOption) RunOption {
	return func(rc *runConfig) error {
		c := &asyncConfig{enabled: true, queueSize: DefaultAsyncQueueSize}
		for _, o := range opts {
			if o == nil {
				continue
			}
			if err := o(c); err != nil {
				return err
			}
		}
		rc.async = c
		return nil
	}
}

// WithoutAsyncLogging makes the run log synchronously whatever
// MLFLOW_ENABLE_ASYNC_LOGGING says, as synchronous=True.
func WithoutAsyncLogging() RunOption {
	return func(rc *runConfig) error {
		rc.async = &asyncConfig{}
		return nil
	}
}

// resolveAsync applies the environment to c (nil: no option given); the
// writes of the run's queue use ctx's values, never its cancellation.
func resolveAsync(ctx context.Context, c *asyncConfig) (*asyncConfig, error) {
	if c != nil {
		c.ctx = ctx
		return c, nil
	}
	c = &asyncConfig{queueSize: DefaultAsyncQueueSize, ctx: ctx}
	if v, ok := os.LookupEnv(EnvEnableAsyncLogging); ok {
		switch strings.ToLower(v) {
		case "true", "1":
			c.enabled = true
		case "false", "0":
		default:
			return nil, store.Invalidf("%s value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got %s", EnvEnableAsyncLogging, v)
		}
	}
	return c, nil
}

// batchChunk is one part of a batch, within MLflow's log-batch limits.
type batchChunk struct {
	m []store.Metric
	p []store.Param
	t []store.Tag
}

func (ch batchChunk) size() int { return len(ch.m) + len(ch.p) + len(ch.t) }

// splitBatch splits a batch into chunks within MLflow's limits, as
// MLflow's client does, and validates every chunk before anything is
// written (so invalid input writes nothing). It always returns at least
// one chunk.
func splitBatch(metrics []store.Metric, params []store.Param, tags []store.Tag) ([]batchChunk, error) {
	var chunks []batchChunk
	for len(metrics)+len(params)+len(tags) > 0 || len(chunks) == 0 {
		var ch batchChunk
		n := min(len(params), store.MaxParamsTagsPerBatch)
		ch.p, params = params[:n], params[n:]
		n = min(len(tags), store.MaxParamsTagsPerBatch)
		ch.t, tags = tags[:n], tags[n:]
		n = min(len(metrics), store.MaxEntitiesPerBatch-len(ch.p)-len(ch.t), store.MaxMetricsPerBatch)
		ch.m, metrics = metrics[:n], metrics[n:]
		chunks = append(chunks, ch)
	}
	seen := map[string]bool{}
	for _, ch := range chunks {
		if err := store.ValidateBatch(ch.m, ch.p, ch.t); err != nil {
			return nil, err
		}
		for _, p := range ch.p {
			if seen[p.Key] {
				return nil, store.Invalidf("Duplicate parameter keys have been submitted: [%q]. Please ensure the request contains only one param value per param key.", p.Key)
			}
			seen[p.Key] = true
		}
	}
	return chunks, nil
}

// asyncLogger is the queue of an asynchronous run and its writer
// goroutine. Chunks are written in the order they were queued; adjacent
// chunks are merged into one LogBatch while MLflow's limits allow and no
// param or tag key repeats (a repeated key goes to the next batch, so the
// later value is written later).
type asyncLogger struct {
	st       store.Store
	runID    string
	ctx      context.Context // of the writes: never cancelled
	capacity int

	mu       sync.Mutex    // guards the fields below
	pending  []batchChunk  // queued, not yet taken by the writer
	size     int           // entities queued or being written
	queued   uint64        // chunks ever queued
	written  uint64        // chunks ever written (or failed)
	err      error         // the first error of a write
	progress chan struct{} // closed and replaced when written grows
	closed   bool          // no more chunks; the writer exits when done

	wake    chan struct{} // wakes the writer (buffered, 1)
	stopped chan struct{} // closed when the writer has exited
}

func newAsyncLogger(ctx context.Context, st store.Store, runID string, capacity int) *asyncLogger {
	a := &asyncLogger{
		st: st, runID: runID, ctx: context.WithoutCancel(ctx), capacity: capacity,
		progress: make(chan struct{}), wake: make(chan struct{}, 1), stopped: make(chan struct{}),
	}
	go a.loop()
	return a
}

// enqueue queues a validated batch whole, waiting for room while the queue
// is full (see WithAsyncLogging); it copies the slices, which the caller
// may reuse.
func (a *asyncLogger) enqueue(ctx context.Context, chunks []batchChunk) error {
	n := 0
	for _, ch := range chunks {
		n += ch.size()
	}
	if n == 0 {
		return nil
	}
	a.mu.Lock()
	for a.size > 0 && a.size+n > a.capacity {
		if a.closed {
			break
		}
		wait := a.progress
		a.mu.Unlock()
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-wait:
		}
		a.mu.Lock()
	}
	if a.closed {
		a.mu.Unlock()
		return store.InvalidStatef("The run %s has ended; its asynchronous queue is closed", a.runID)
	}
	for _, ch := range chunks {
		if ch.size() == 0 {
			continue
		}
		a.pending = append(a.pending, batchChunk{m: slices.Clone(ch.m), p: slices.Clone(ch.p), t: slices.Clone(ch.t)})
		a.queued++
	}
	a.size += n
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// take removes from the front of the queue the chunks of the next batch
// and returns the batch and how many chunks it holds.
func (a *asyncLogger) take() (batchChunk, int) {
	var b batchChunk
	params, tags := map[string]bool{}, map[string]bool{}
	k := 0
	for _, ch := range a.pending {
		if k > 0 && (len(b.m)+len(ch.m) > store.MaxMetricsPerBatch ||
			len(b.p)+len(ch.p) > store.MaxParamsTagsPerBatch ||
			len(b.t)+len(ch.t) > store.MaxParamsTagsPerBatch ||
			b.size()+ch.size() > store.MaxEntitiesPerBatch ||
			slices.ContainsFunc(ch.p, func(p store.Param) bool { return params[p.Key] }) ||
			slices.ContainsFunc(ch.t, func(t store.Tag) bool { return tags[t.Key] })) {
			break
		}
		for _, p := range ch.p {
			params[p.Key] = true
		}
		for _, t := range ch.t {
			tags[t.Key] = true
		}
		b.m = append(b.m, ch.m...)
		b.p = append(b.p, ch.p...)
		b.t = append(b.t, ch.t...)
		k++
	}
	a.pending = a.pending[k:]
	return b, k
}

// loop is the writer goroutine.
func (a *asyncLogger) loop() {
	defer close(a.stopped)
	for {
		a.mu.Lock()
		if len(a.pending) == 0 {
			closed := a.closed
			a.mu.Unlock()
			if closed {
				return
			}
			<-a.wake
			continue
		}
		b, k := a.take()
		a.mu.Unlock()
		err := a.st.LogBatch(a.ctx, a.runID, b.m, b.p, b.t)
		a.mu.Lock()
		if err != nil && a.err == nil {
			a.err = err
		}
		a.written += uint64(k)
		a.size -= b.size()
		close(a.progress)
		a.progress = make(chan struct{})
		a.mu.Unlock()
	}
}

// flush waits until every chunk queued before the call is written and
// returns the first error of any write so far, or ctx's error if ctx ends
// first (the queue goes on being written).
func (a *asyncLogger) flush(ctx context.Context) error {
	a.mu.Lock()
	target := a.queued
	for a.written < target {
		wait := a.progress
		a.mu.Unlock()
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-wait:
		}
		a.mu.Lock()
	}
	err := a.err
	a.mu.Unlock()
	return err
}

// firstErr returns the first error of a write so far.
func (a *asyncLogger) firstErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// close stops the writer once the queue is written (call it after a
// successful flush) and waits for it.
func (a *asyncLogger) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	<-a.stopped
}

// Flush waits until everything the run logged before the call is written
// to the store and returns the first error of an asynchronous write (the
// same error every later Flush returns), or ctx's error if ctx is done
// first; the queue goes on being written either way. For a run that logs
// synchronously it returns nil at once. See [WithAsyncLogging].
func (r *Run) Flush(ctx context.Context) (err error) {
	if err := r.ready(ctx); err != nil {
		return err
	}
	if r.async == nil {
		return nil
	}
	if err := r.async.flush(ctx); err != nil {
		if ctx.Err() == nil {
			r.keep(&err)
		}
		return err
	}
	return nil
}

// attachAsync starts the writer of an asynchronous run (unless c is off
// or err is set); it has the shape of StartRun's results.
func (c *asyncConfig) attach(run *Run, err error) (*Run, error) {
	if c == nil || !c.enabled || err != nil {
		return run, err
	}
	run.async = newAsyncLogger(c.ctx, run.c.store, run.id, c.queueSize)
	return run, nil
}
