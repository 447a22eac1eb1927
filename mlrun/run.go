package mlrun

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mlrun-go/mlrun/store"
)

// Run is a handle on one run. It is safe for concurrent use: many
// goroutines (and processes, each with its own handle) may log to the same
// run; the read-modify-writes a logging call implies (LogTable's rows, the
// mlflow.loggedArtifacts and mlflow.log-model.history tags) are atomic.
//
// A Run remembers the first error of its logging methods (see [Run.Err]),
// which [Run.End] returns, so a training loop may log without checking each
// call and check once at the end; each call still returns its own error.
type Run struct {
	c            *Client
	id           string
	experimentID string
	artifactURI  string

	mu    sync.Mutex // guards ended and err
	ended bool
	err   error          // the first error of a logging method (sticky)
	sys   *systemMonitor // system metrics (sysmetrics.go), or nil; stopped by End
	async *asyncLogger   // the queue of an asynchronous run (async.go), or nil; closed by End
}

// RunOption configures [Client.StartRun].
type RunOption func(*runConfig) error

type runConfig struct {
	experimentID   string
	experimentName string
	name           string
	tags           map[string]string
	description    *string
	parentID       string
	startTime      time.Time
	systemMetrics  *systemMetricsConfig // WithSystemMetrics (sysmetrics.go); nil: the environment decides
	async          *asyncConfig         // WithAsyncLogging (async.go); nil: the environment decides
}

// WithRunName names the run; without it MLflow's adjective-noun-NNN name is
// generated.
func WithRunName(name string) RunOption {
	return func(c *runConfig) error {
		if err := store.ValidateRunName(name); err != nil {
			return err
		}
		c.name = name
		return nil
	}
}

// WithExperimentID starts the run in this experiment.
func WithExperimentID(id string) RunOption {
	return func(c *runConfig) error {
		if err := store.ValidateExperimentID(id); err != nil {
			return err
		}
		c.experimentID = id
		return nil
	}
}

// WithExperimentName starts the run in the experiment of this name,
// creating it if needed.
func WithExperimentName(name string) RunOption {
	return func(c *runConfig) error {
		if err := store.ValidateExperimentName(name); err != nil {
			return err
		}
		c.experimentName = name
		return nil
	}
}

// WithTags sets tags on the new run.
func WithTags(tags map[string]string) RunOption {
	return func(c *runConfig) error {
		for _, t := range sortedTags(tags) {
			if err := store.ValidateTag(t); err != nil {
				return err
			}
		}
		if c.tags == nil {
			c.tags = map[string]string{}
		}
		maps.Copy(c.tags, tags)
		return nil
	}
}

// WithDescription sets the run's description (the mlflow.note.content tag,
// shown by the UI).
func WithDescription(text string) RunOption {
	return func(c *runConfig) error {
		c.description = &text
		return nil
	}
}

// WithParent nests the new run under parent (the mlflow.parentRunId tag).
func WithParent(parent *Run) RunOption {
	return func(c *runConfig) error {
		if parent == nil || parent.id == "" {
			return store.Invalidf("mlrun: parent run must not be nil")
		}
		c.parentID = parent.id
		return nil
	}
}

// WithParentRunID nests the new run under the run with this id.
func WithParentRunID(id string) RunOption {
	return func(c *runConfig) error {
		if err := store.ValidateRunID(id); err != nil {
			return err
		}
		c.parentID = id
		return nil
	}
}

// WithStartTime sets the run's start time (default: now).
func WithStartTime(t time.Time) RunOption {
	return func(c *runConfig) error {
		if t.UnixMilli() < 0 {
			return store.Invalidf("start time %v is before the epoch", t)
		}
		c.startTime = t
		return nil
	}
}

// resumeFromEnv guards the one-time use of MLFLOW_RUN_ID, which MLflow
// consumes on the first start_run of a process.
var resumeFromEnv sync.Mutex

// StartRun creates a run and returns a handle on it. The run goes to the
// experiment named by the options, else the one set with SetExperiment,
// else MLFLOW_EXPERIMENT_NAME / MLFLOW_EXPERIMENT_ID, else Default. It gets
// the tags MLflow's Python client sets (mlflow.user, mlflow.source.name,
// mlflow.source.type, mlflow.source.git.commit in a git checkout).
//
// When MLFLOW_RUN_ID is set and no parent is given, the first StartRun of
// the process resumes that run instead, as mlflow.start_run does, and
// unsets the variable.
func (c *Client) StartRun(ctx context.Context, opts ...RunOption) (*Run, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	var cfg runConfig
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	sys, err := resolveSystemMetrics(ctx, cfg.systemMetrics)
	if err != nil {
		return nil, err
	}
	async, err := resolveAsync(ctx, cfg.async)
	if err != nil {
		return nil, err
	}
	tags := maps.Clone(cfg.tags)
	if tags == nil {
		tags = map[string]string{}
	}
	if cfg.description != nil {
		if _, dup := tags[TagNote]; dup {
			return nil, store.Invalidf("Description is already set via the tag %s in tags. Remove the key %s from the tags or omit the description.", TagNote, TagNote)
		}
		tags[TagNote] = *cfg.description
	}

	if cfg.parentID == "" {
		resumeFromEnv.Lock()
		id := os.Getenv("MLFLOW_RUN_ID")
		if id != "" {
			os.Unsetenv("MLFLOW_RUN_ID")
		}
		resumeFromEnv.Unlock()
		if id != "" {
			return sys.attach(async.attach(c.resume(ctx, id, cfg.name, tags)))
		}
	}

	expID := cfg.experimentID
	switch {
	case expID != "":
	case cfg.experimentName != "":
		exp, err := c.getOrCreateExperiment(ctx, cfg.experimentName, experimentConfig{})
		if err != nil {
			return nil, err
		}
		expID = exp.ID
	default:
		var err error
		if expID, err = c.defaultExperimentID(ctx); err != nil {
			return nil, err
		}
	}

	if cfg.parentID != "" {
		parent, err := c.store.GetRun(ctx, cfg.parentID)
		if err != nil {
			return nil, fmt.Errorf("parent run: %w", err)
		}
		if parent.Info.LifecycleStage == store.LifecycleDeleted {
			return nil, store.InvalidStatef("Cannot start run under parent run with ID %s because it is in the deleted state.", cfg.parentID)
		}
		tags[TagParentRunID] = cfg.parentID
	}
	if cfg.name != "" {
		tags[TagRunName] = cfg.name
	}
	all := c.systemTags()
	maps.Copy(all, tags) // user tags win, as in MLflow's context registry
	start := c.nowMillis()
	if !cfg.startTime.IsZero() {
		start = cfg.startTime.UnixMilli()
	}
	r, err := c.store.CreateRun(ctx, store.CreateRunRequest{
		ExperimentID: expID,
		UserID:       c.user,
		StartTime:    start,
		RunName:      cfg.name,
		Tags:         sortedTags(all),
	})
	if err != nil {
		return nil, err
	}
	return sys.attach(async.attach(c.handle(&r.Info), nil))
}

// ResumeRun reopens an existing run: its status goes back to RUNNING, as
// with mlflow.start_run(run_id=...), and its end time stays what it was
// (MLflow passes the previous end_time back). Ending the handle sets a new
// end time, as mlflow.end_run does. To add to a finished run without
// reopening it, use the Client methods ([Client.LogModel],
// [Client.SetRunTag], [Client.LogBatch]).
func (c *Client) ResumeRun(ctx context.Context, runID string) (*Run, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	sys, err := resolveSystemMetrics(ctx, nil)
	if err != nil {
		return nil, err
	}
	async, err := resolveAsync(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sys.attach(async.attach(c.resume(ctx, runID, "", nil)))
}

func (c *Client) resume(ctx context.Context, runID, name string, tags map[string]string) (*Run, error) {
	if err := store.ValidateRunID(runID); err != nil {
		return nil, err
	}
	r, err := c.store.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	if r.Info.LifecycleStage == store.LifecycleDeleted {
		return nil, store.InvalidStatef("Cannot start run with ID %s because it is in the deleted state.", runID)
	}
	info, err := c.store.UpdateRun(ctx, runID, store.RunUpdate{Status: store.StatusRunning, RunName: name})
	if err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		if err := c.store.LogBatch(ctx, runID, nil, nil, sortedTags(tags)); err != nil {
			return nil, err
		}
	}
	return c.handle(info), nil
}

func (c *Client) handle(info *store.RunInfo) *Run {
	return &Run{c: c, id: info.RunID, experimentID: info.ExperimentID, artifactURI: info.ArtifactURI}
}

// ID returns the run id ("" for a nil Run).
func (r *Run) ID() string {
	if r == nil {
		return ""
	}
	return r.id
}

// ExperimentID returns the id of the run's experiment.
func (r *Run) ExperimentID() string {
	if r == nil {
		return ""
	}
	return r.experimentID
}

// ArtifactURI returns the root URI of the run's artifacts.
func (r *Run) ArtifactURI() string {
	if r == nil {
		return ""
	}
	return r.artifactURI
}

// Get returns the run as stored now.
func (r *Run) Get(ctx context.Context) (*store.Run, error) {
	if err := r.ready(ctx); err != nil {
		return nil, err
	}
	return r.c.store.GetRun(ctx, r.id)
}

// LogParam logs a param. Its value is formatted with [ParamString], as
// MLflow's str(value); once logged it cannot change (logging the same value
// again is a no-op). A value that contains itself, or is nested deeper
// than Python allows, is ErrInvalidParameter.
func (r *Run) LogParam(ctx context.Context, key string, value any) (err error) {
	defer r.keep(&err)
	v, err := paramString(value)
	if err != nil {
		return fmt.Errorf("LogParam %q: %w", key, err)
	}
	return r.LogBatch(ctx, nil, []store.Param{{Key: key, Value: v}}, nil)
}

// LogParams logs several params at once, in key order.
func (r *Run) LogParams(ctx context.Context, params map[string]any) (err error) {
	defer r.keep(&err)
	ps := make([]store.Param, 0, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v, err := paramString(params[k])
		if err != nil {
			return fmt.Errorf("LogParams %q: %w", k, err)
		}
		ps = append(ps, store.Param{Key: k, Value: v})
	}
	return r.LogBatch(ctx, nil, ps, nil)
}

// MetricOption sets a metric point's step or timestamp.
type MetricOption func(*metricConfig) error

type metricConfig struct {
	step      int64
	timestamp int64 // ms since the epoch; -1 means now
}

// WithStep sets the metric step (default 0; may be negative).
func WithStep(step int64) MetricOption {
	return func(c *metricConfig) error {
		c.step = step
		return nil
	}
}

// WithTimestamp sets the metric timestamp in ms since the epoch (default
// now); it must not be negative.
func WithTimestamp(ms int64) MetricOption {
	return func(c *metricConfig) error {
		if ms < 0 {
			return store.Invalidf("metric timestamp %d is negative; MLflow timestamps are milliseconds since the epoch", ms)
		}
		c.timestamp = ms
		return nil
	}
}

// WithTime sets the metric timestamp (default now); it must not be before
// the epoch.
func WithTime(t time.Time) MetricOption {
	return func(c *metricConfig) error {
		if t.UnixMilli() < 0 {
			return store.Invalidf("metric time %v is before the epoch", t)
		}
		c.timestamp = t.UnixMilli()
		return nil
	}
}

// metricOptions applies opts; the timestamp defaults to the client's now.
func (r *Run) metricOptions(opts []MetricOption) (metricConfig, error) {
	cfg := metricConfig{timestamp: -1}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return cfg, err
		}
	}
	if cfg.timestamp == -1 {
		cfg.timestamp = r.c.nowMillis()
	}
	return cfg, nil
}

func (r *Run) metric(key string, v float64, opts []MetricOption) (store.Metric, error) {
	cfg, err := r.metricOptions(opts)
	if err != nil {
		return store.Metric{}, err
	}
	return store.Metric{Key: key, Value: v, Timestamp: cfg.timestamp, Step: cfg.step}, nil
}

// LogMetric logs one point of a metric. NaN and ±Inf are allowed.
func (r *Run) LogMetric(ctx context.Context, key string, value float64, opts ...MetricOption) (err error) {
	defer r.keep(&err)
	if err := r.ready(ctx); err != nil {
		return err
	}
	m, err := r.metric(key, value, opts)
	if err != nil {
		return err
	}
	return r.LogBatch(ctx, []store.Metric{m}, nil, nil)
}

// LogMetrics logs several metrics with the same step and timestamp.
func (r *Run) LogMetrics(ctx context.Context, metrics map[string]float64, opts ...MetricOption) (err error) {
	defer r.keep(&err)
	if err := r.ready(ctx); err != nil {
		return err
	}
	cfg, err := r.metricOptions(opts)
	if err != nil {
		return err
	}
	ms := make([]store.Metric, 0, len(metrics))
	for _, k := range slices.Sorted(maps.Keys(metrics)) {
		ms = append(ms, store.Metric{Key: k, Value: metrics[k], Timestamp: cfg.timestamp, Step: cfg.step})
	}
	return r.LogBatch(ctx, ms, nil, nil)
}

// SetTag sets a run tag.
func (r *Run) SetTag(ctx context.Context, key, value string) (err error) {
	defer r.keep(&err)
	return r.LogBatch(ctx, nil, nil, []store.Tag{{Key: key, Value: value}})
}

// SetTags sets several run tags, in key order.
func (r *Run) SetTags(ctx context.Context, tags map[string]string) (err error) {
	defer r.keep(&err)
	return r.LogBatch(ctx, nil, nil, sortedTags(tags))
}

// DeleteTag removes a run tag.
func (r *Run) DeleteTag(ctx context.Context, key string) (err error) {
	defer r.keep(&err)
	if err := r.checkActive(ctx); err != nil {
		return err
	}
	if err := r.Flush(ctx); err != nil {
		return err
	}
	return r.c.store.DeleteTag(ctx, r.id, key)
}

// LogBatch logs metrics, params and tags (see [Client.LogBatch]). Logging
// through a handle whose run has ended is ErrInvalidState. A run that
// logs asynchronously ([WithAsyncLogging]) checks the batch and queues it.
func (r *Run) LogBatch(ctx context.Context, metrics []store.Metric, params []store.Param, tags []store.Tag) (err error) {
	defer r.keep(&err)
	if err := r.checkActive(ctx); err != nil {
		return err
	}
	if r.async == nil {
		return r.c.LogBatch(ctx, r.id, metrics, params, tags)
	}
	chunks, err := splitBatch(metrics, params, tags)
	if err != nil {
		return err
	}
	return r.async.enqueue(ctx, chunks)
}

// checkActive checks the handle and ctx (see ready) and refuses logging
// through a handle whose run has ended.
func (r *Run) checkActive(ctx context.Context) error {
	if err := r.ready(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return store.InvalidStatef("The run %s has ended; resume it with ResumeRun to log more, or change the finished run with the Client methods (LogModel, SetRunTag, LogBatch)", r.id)
	}
	return nil
}

// SetRunTag sets a tag on any run that is not deleted, ended or not, as
// MlflowClient.set_tag does.
func (c *Client) SetRunTag(ctx context.Context, runID, key, value string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.LogBatch(ctx, runID, nil, nil, []store.Tag{{Key: key, Value: value}})
}

// LogBatch logs metrics, params and tags to any run that is not deleted.
// Batches larger than MLflow's limits are split, as MLflow's client does;
// every part is validated before the first is written, so invalid input
// writes nothing.
func (c *Client) LogBatch(ctx context.Context, runID string, metrics []store.Metric, params []store.Param, tags []store.Tag) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	chunks, err := splitBatch(metrics, params, tags)
	if err != nil {
		return err
	}
	for _, ch := range chunks {
		if len(ch.m)+len(ch.p)+len(ch.t) == 0 {
			continue
		}
		if err := c.store.LogBatch(ctx, runID, ch.m, ch.p, ch.t); err != nil {
			return err
		}
	}
	return nil
}

// EndOption configures [Run.End].
type EndOption func(*endConfig) error

type endConfig struct {
	status store.RunStatus
	errp   *error
}

// WithStatus ends the run with this status (default FINISHED): FINISHED,
// FAILED or KILLED.
func WithStatus(s store.RunStatus) EndOption {
	return func(c *endConfig) error {
		if !s.Terminated() {
			return store.Invalidf("End: status %v is not a terminal status (FINISHED, FAILED or KILLED)", s)
		}
		c.status = s
		return nil
	}
}

// OnError ends the run FAILED when *err is non-nil at the time End runs,
// for use with a named error result: defer run.End(ctx, mlrun.OnError(&err)).
// A nil err is ignored: End does not fail on it, so that the run still
// ends.
func OnError(err *error) EndOption {
	return func(c *endConfig) error {
		c.errp = err
		return nil
	}
}

// End ends the run: FINISHED by default, or the status given. A run that
// logs asynchronously is flushed first ([Run.Flush]); if ctx ends before
// the queue is written, End returns ctx's error and the run stays
// running (End may be called again). It returns
// the run's sticky error ([Run.Err]: the first error of its logging
// methods, if any), joined with End's own; the status is the one asked for
// either way (use OnError to end FAILED on an error of your own). It is
// safe to call more than once: once the run has ended, later calls do
// nothing and return nil. It is meant to be deferred:
//
//	defer run.End(ctx)
//
// When End is deferred directly and the function panics, End records the
// run as FAILED and lets the panic continue.
func (r *Run) End(ctx context.Context, opts ...EndOption) error {
	if p := recover(); p != nil {
		if r != nil && r.c != nil {
			if ctx == nil {
				ctx = context.Background()
			}
			_, _ = r.end(context.WithoutCancel(ctx), store.StatusFailed)
		}
		panic(p)
	}
	if err := r.ready(ctx); err != nil {
		return err
	}
	cfg := endConfig{status: store.StatusFinished}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return err
		}
	}
	if cfg.errp != nil && *cfg.errp != nil {
		cfg.status = store.StatusFailed
	}
	if r.async != nil {
		if err := r.async.flush(ctx); err != nil && ctx.Err() != nil {
			return err
		}
	}
	ended, err := r.end(ctx, cfg.status)
	if !ended {
		return nil // ended before
	}
	if sticky := r.Err(); sticky != nil {
		return errors.Join(fmt.Errorf("run %s: a logging call failed: %w", r.id, sticky), err)
	}
	return err
}

// end records the run's end, unless the handle has ended already: ended
// reports whether this call tried (false after a successful earlier End).
func (r *Run) end(ctx context.Context, status store.RunStatus) (ended bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return false, nil
	}
	r.sys.stop()
	if r.async != nil {
		// End flushed already; a panicking End comes here directly. A
		// write error is the sticky error End reports (Run.Err).
		_ = r.async.flush(ctx)
	}
	end := r.c.nowMillis()
	if _, err := r.c.store.UpdateRun(ctx, r.id, store.RunUpdate{Status: status, EndTime: &end}); err != nil {
		return true, err
	}
	r.ended = true
	if r.async != nil {
		r.async.close()
	}
	return true, nil
}

func sortedTags(m map[string]string) []store.Tag {
	tags := make([]store.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		tags = append(tags, store.Tag{Key: k, Value: m[k]})
	}
	return tags
}
