package mlrun

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/store"
)

// Run is a handle on one run. It is safe for concurrent use: many
// goroutines may log to the same run.
type Run struct {
	c            *Client
	id           string
	experimentID string
	artifactURI  string

	mu    sync.Mutex // guards ended
	ended bool
	sys   *systemMonitor // system metrics (sysmetrics.go), or nil; stopped by End
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
		if parent == nil {
			return errors.New("mlrun: parent run must not be nil")
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
	var cfg runConfig
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	sys, err := resolveSystemMetrics(ctx, cfg.systemMetrics)
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
			return sys.attach(c.resume(ctx, id, cfg.name, tags))
		}
	}

	expID := cfg.experimentID
	switch {
	case expID != "":
	case cfg.experimentName != "":
		exp, err := c.getOrCreateExperiment(ctx, cfg.experimentName)
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
	return sys.attach(c.handle(&r.Info), nil)
}

// ResumeRun reopens an existing run: its status goes back to RUNNING, as
// with mlflow.start_run(run_id=...).
func (c *Client) ResumeRun(ctx context.Context, runID string) (*Run, error) {
	sys, err := resolveSystemMetrics(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sys.attach(c.resume(ctx, runID, "", nil))
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

// ID returns the run id.
func (r *Run) ID() string { return r.id }

// ExperimentID returns the id of the run's experiment.
func (r *Run) ExperimentID() string { return r.experimentID }

// ArtifactURI returns the root URI of the run's artifacts.
func (r *Run) ArtifactURI() string { return r.artifactURI }

// Get returns the run as stored now.
func (r *Run) Get(ctx context.Context) (*store.Run, error) { return r.c.store.GetRun(ctx, r.id) }

// ParamString formats a param value the way MLflow's Python client does
// (str(value)): floats as Python's repr, booleans as True/False, nil as None.
func ParamString(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return pyfloat.Repr(x)
	case float32:
		return pyfloat.Repr(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// LogParam logs a param. Its value is formatted with [ParamString]; once
// logged it cannot change (logging the same value again is a no-op).
func (r *Run) LogParam(ctx context.Context, key string, value any) error {
	return r.LogBatch(ctx, nil, []store.Param{{Key: key, Value: ParamString(value)}}, nil)
}

// LogParams logs several params at once, in key order.
func (r *Run) LogParams(ctx context.Context, params map[string]any) error {
	ps := make([]store.Param, 0, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		ps = append(ps, store.Param{Key: k, Value: ParamString(params[k])})
	}
	return r.LogBatch(ctx, nil, ps, nil)
}

// MetricOption sets a metric point's step or timestamp.
type MetricOption func(*store.Metric)

// WithStep sets the metric step (default 0; may be negative).
func WithStep(step int64) MetricOption { return func(m *store.Metric) { m.Step = step } }

// WithTimestamp sets the metric timestamp in ms since the epoch (default now).
func WithTimestamp(ms int64) MetricOption { return func(m *store.Metric) { m.Timestamp = ms } }

// WithTime sets the metric timestamp (default now).
func WithTime(t time.Time) MetricOption {
	return func(m *store.Metric) { m.Timestamp = t.UnixMilli() }
}

func (r *Run) metric(key string, v float64, opts []MetricOption) store.Metric {
	m := store.Metric{Key: key, Value: v, Timestamp: -1}
	for _, o := range opts {
		o(&m)
	}
	if m.Timestamp == -1 {
		m.Timestamp = r.c.nowMillis()
	}
	return m
}

// LogMetric logs one point of a metric. NaN and ±Inf are allowed.
func (r *Run) LogMetric(ctx context.Context, key string, value float64, opts ...MetricOption) error {
	return r.LogBatch(ctx, []store.Metric{r.metric(key, value, opts)}, nil, nil)
}

// LogMetrics logs several metrics with the same step and timestamp.
func (r *Run) LogMetrics(ctx context.Context, metrics map[string]float64, opts ...MetricOption) error {
	ms := make([]store.Metric, 0, len(metrics))
	ts := r.c.nowMillis()
	for _, k := range slices.Sorted(maps.Keys(metrics)) {
		m := store.Metric{Key: k, Value: metrics[k], Timestamp: ts}
		for _, o := range opts {
			o(&m)
		}
		ms = append(ms, m)
	}
	return r.LogBatch(ctx, ms, nil, nil)
}

// SetTag sets a run tag.
func (r *Run) SetTag(ctx context.Context, key, value string) error {
	return r.LogBatch(ctx, nil, nil, []store.Tag{{Key: key, Value: value}})
}

// SetTags sets several run tags, in key order.
func (r *Run) SetTags(ctx context.Context, tags map[string]string) error {
	return r.LogBatch(ctx, nil, nil, sortedTags(tags))
}

// DeleteTag removes a run tag.
func (r *Run) DeleteTag(ctx context.Context, key string) error {
	if err := r.checkActive(); err != nil {
		return err
	}
	return r.c.store.DeleteTag(ctx, r.id, key)
}

// LogBatch logs metrics, params and tags (see [Client.LogBatch]). Logging
// through a handle whose run has ended is ErrInvalidState.
func (r *Run) LogBatch(ctx context.Context, metrics []store.Metric, params []store.Param, tags []store.Tag) error {
	if err := r.checkActive(); err != nil {
		return err
	}
	return r.c.LogBatch(ctx, r.id, metrics, params, tags)
}

// checkActive refuses logging through a handle whose run has ended.
func (r *Run) checkActive() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return store.InvalidStatef("The run %s has ended; resume it with ResumeRun to log more, or use the Client methods to change a finished run", r.id)
	}
	return nil
}

// SetRunTag sets a tag on any run that is not deleted, ended or not, as
// MlflowClient.set_tag does.
func (c *Client) SetRunTag(ctx context.Context, runID, key, value string) error {
	return c.LogBatch(ctx, runID, nil, nil, []store.Tag{{Key: key, Value: value}})
}

// LogBatch logs metrics, params and tags to any run that is not deleted.
// Batches larger than MLflow's limits are split, as MLflow's client does;
// every part is validated before the first is written, so invalid input
// writes nothing.
func (c *Client) LogBatch(ctx context.Context, runID string, metrics []store.Metric, params []store.Param, tags []store.Tag) error {
	type chunk struct {
		m []store.Metric
		p []store.Param
		t []store.Tag
	}
	var chunks []chunk
	for len(metrics)+len(params)+len(tags) > 0 || len(chunks) == 0 {
		var ch chunk
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
			return err
		}
		for _, p := range ch.p {
			if seen[p.Key] {
				return store.Invalidf("Duplicate parameter keys have been submitted: [%q]. Please ensure the request contains only one param value per param key.", p.Key)
			}
			seen[p.Key] = true
		}
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
type EndOption func(*endConfig)

type endConfig struct {
	status store.RunStatus
	errp   *error
}

// WithStatus ends the run with this status (default FINISHED).
func WithStatus(s store.RunStatus) EndOption { return func(c *endConfig) { c.status = s } }

// OnError ends the run FAILED when *err is non-nil at the time End runs,
// for use with a named error result: defer run.End(ctx, mlrun.OnError(&err)).
func OnError(err *error) EndOption { return func(c *endConfig) { c.errp = err } }

// End ends the run: FINISHED by default, or the status given. It is safe to
// call more than once (later calls do nothing) and is meant to be deferred:
//
//	defer run.End(ctx)
//
// When End is deferred directly and the function panics, End records the
// run as FAILED and lets the panic continue.
func (r *Run) End(ctx context.Context, opts ...EndOption) error {
	if p := recover(); p != nil {
		_ = r.end(context.WithoutCancel(ctx), store.StatusFailed)
		panic(p)
	}
	cfg := endConfig{status: store.StatusFinished}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.errp != nil && *cfg.errp != nil {
		cfg.status = store.StatusFailed
	}
	if !cfg.status.Terminated() {
		return store.Invalidf("End: status %v is not a terminal status (FINISHED, FAILED or KILLED)", cfg.status)
	}
	return r.end(ctx, cfg.status)
}

func (r *Run) end(ctx context.Context, status store.RunStatus) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return nil
	}
	r.sys.stop()
	end := r.c.nowMillis()
	if _, err := r.c.store.UpdateRun(ctx, r.id, store.RunUpdate{Status: status, EndTime: &end}); err != nil {
		return err
	}
	r.ended = true
	return nil
}

func sortedTags(m map[string]string) []store.Tag {
	tags := make([]store.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		tags = append(tags, store.Tag{Key: k, Value: m[k]})
	}
	return tags
}
