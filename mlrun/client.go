package mlrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mlrun-go/mlrun/store"
)

// Client logs to one tracking store. It is safe for concurrent use.
type Client struct {
	store     store.Store
	uri       string
	ownsStore bool // Close closes the store
	user      string
	now       func() time.Time
	models    modelConfig // model layout and target MLflow version (loggedmodel.go)

	mu           sync.Mutex // guards experimentID
	experimentID string     // set by SetExperiment; "" means resolve from env
}

// Option configures [Open].
type Option func(*config) error

type config struct {
	uri    string
	store  store.Store
	user   string
	now    func() time.Time
	models modelConfig

	readOnly bool // WithReadOnly (readonly.go)
}

// WithTrackingURI selects the store instead of MLFLOW_TRACKING_URI or the
// default: a path or file: URI for an mlruns directory, or a sqlite: URI.
func WithTrackingURI(uri string) Option {
	return func(c *config) error {
		if uri == "" {
			return errors.New("mlrun: tracking URI must not be empty")
		}
		c.uri = uri
		return nil
	}
}

// WithStore uses an already opened store. Close does not close it.
func WithStore(s store.Store) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("mlrun: store must not be nil")
		}
		c.store = s
		return nil
	}
}

// WithUser sets the user recorded as the runs' user_id and mlflow.user tag
// (default: MLFLOW_TRACKING_USERNAME, else the OS user).
func WithUser(user string) Option {
	return func(c *config) error {
		if user == "" {
			return errors.New("mlrun: user must not be empty")
		}
		c.user = user
		return nil
	}
}

// WithClock sets the clock used for start, end and metric timestamps.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("mlrun: clock must not be nil")
		}
		c.now = now
		return nil
	}
}

// Open opens the tracking store chosen by the options and environment (see
// the package documentation) and returns a client for it.
func Open(ctx context.Context, opts ...Option) (*Client, error) {
	cfg := config{now: time.Now}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	c := &Client{store: cfg.store, user: cfg.user, now: cfg.now, models: cfg.models}
	if c.user == "" {
		c.user = currentUser()
	}
	if cfg.store != nil {
		if cfg.readOnly {
			return nil, errWithStoreReadOnly
		}
		c.uri = cfg.uri
		return c, nil
	}
	uri := ResolveTrackingURI(cfg.uri)
	s, err := openStore(ctx, uri, cfg.models.mlflowVersion, cfg.readOnly)
	if err != nil {
		return nil, err
	}
	c.store, c.uri, c.ownsStore = s, uri, true
	return c, nil
}

// Close closes the store if Open opened it.
func (c *Client) Close() error {
	if c.ownsStore {
		return c.store.Close()
	}
	return nil
}

// Store returns the underlying store.
func (c *Client) Store() store.Store { return c.store }

// TrackingURI returns the URI the client was opened with.
func (c *Client) TrackingURI() string { return c.uri }

func (c *Client) nowMillis() int64 { return c.now().UnixMilli() }

// SetExperiment makes the experiment with this name the one new runs go to,
// creating it if it does not exist (safe when many processes race). A
// deleted experiment of that name is an error, as in MLflow.
func (c *Client) SetExperiment(ctx context.Context, name string) (*store.Experiment, error) {
	exp, err := c.getOrCreateExperiment(ctx, name)
	if err != nil {
		return nil, err
	}
	if exp.LifecycleStage == store.LifecycleDeleted {
		return nil, store.InvalidStatef("Cannot set a deleted experiment %q as the active experiment. You can restore the experiment, or permanently delete the experiment to create a new one.", name)
	}
	c.mu.Lock()
	c.experimentID = exp.ID
	c.mu.Unlock()
	return exp, nil
}

// SetExperimentByID makes an existing active experiment the one new runs go to.
func (c *Client) SetExperimentByID(ctx context.Context, id string) (*store.Experiment, error) {
	exp, err := c.store.GetExperiment(ctx, id)
	if err != nil {
		return nil, err
	}
	if exp.LifecycleStage == store.LifecycleDeleted {
		return nil, store.InvalidStatef("Cannot set a deleted experiment %q as the active experiment.", id)
	}
	c.mu.Lock()
	c.experimentID = exp.ID
	c.mu.Unlock()
	return exp, nil
}

func (c *Client) getOrCreateExperiment(ctx context.Context, name string) (*store.Experiment, error) {
	if err := store.ValidateExperimentName(name); err != nil {
		return nil, err
	}
	exp, err := c.store.GetExperimentByName(ctx, name)
	if err == nil {
		return exp, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	id, err := c.store.CreateExperiment(ctx, name, "", nil)
	if errors.Is(err, store.ErrAlreadyExists) {
		// Another process created it first.
		return c.store.GetExperimentByName(ctx, name)
	}
	if err != nil {
		return nil, err
	}
	return c.store.GetExperiment(ctx, id)
}

// ExperimentOption configures [Client.CreateExperiment].
type ExperimentOption func(*experimentConfig) error

type experimentConfig struct {
	artifactLocation string
	tags             []store.Tag
}

// WithArtifactLocation sets a new experiment's artifact location.
func WithArtifactLocation(loc string) ExperimentOption {
	return func(c *experimentConfig) error {
		if loc == "" {
			return errors.New("mlrun: artifact location must not be empty")
		}
		c.artifactLocation = loc
		return nil
	}
}

// WithExperimentTags sets tags on a new experiment.
func WithExperimentTags(tags map[string]string) ExperimentOption {
	return func(c *experimentConfig) error {
		c.tags = append(c.tags, sortedTags(tags)...)
		return nil
	}
}

// WithExperimentDescription sets a new experiment's description (the
// mlflow.note.content tag).
func WithExperimentDescription(text string) ExperimentOption {
	return func(c *experimentConfig) error {
		c.tags = append(c.tags, store.Tag{Key: TagNote, Value: text})
		return nil
	}
}

// CreateExperiment creates an experiment; a taken name is ErrAlreadyExists.
func (c *Client) CreateExperiment(ctx context.Context, name string, opts ...ExperimentOption) (*store.Experiment, error) {
	var cfg experimentConfig
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	id, err := c.store.CreateExperiment(ctx, name, cfg.artifactLocation, cfg.tags)
	if err != nil {
		return nil, err
	}
	return c.store.GetExperiment(ctx, id)
}

// GetExperiment returns an experiment by id.
func (c *Client) GetExperiment(ctx context.Context, id string) (*store.Experiment, error) {
	return c.store.GetExperiment(ctx, id)
}

// GetExperimentByName returns an experiment by name.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (*store.Experiment, error) {
	return c.store.GetExperimentByName(ctx, name)
}

// RenameExperiment renames an experiment.
func (c *Client) RenameExperiment(ctx context.Context, id, newName string) error {
	return c.store.RenameExperiment(ctx, id, newName)
}

// DeleteExperiment deletes an experiment and its runs (restorable).
func (c *Client) DeleteExperiment(ctx context.Context, id string) error {
	return c.store.DeleteExperiment(ctx, id)
}

// RestoreExperiment restores a deleted experiment and its runs.
func (c *Client) RestoreExperiment(ctx context.Context, id string) error {
	return c.store.RestoreExperiment(ctx, id)
}

// SetExperimentTag sets a tag on an experiment.
func (c *Client) SetExperimentTag(ctx context.Context, id, key, value string) error {
	return c.store.SetExperimentTag(ctx, id, store.Tag{Key: key, Value: value})
}

// GetRun returns a run with its latest metrics, params, tags and inputs.
func (c *Client) GetRun(ctx context.Context, runID string) (*store.Run, error) {
	return c.store.GetRun(ctx, runID)
}

// DeleteRun deletes a run (restorable).
func (c *Client) DeleteRun(ctx context.Context, runID string) error {
	return c.store.DeleteRun(ctx, runID)
}

// RestoreRun restores a deleted run.
func (c *Client) RestoreRun(ctx context.Context, runID string) error {
	return c.store.RestoreRun(ctx, runID)
}

// GetMetricHistory returns every logged point of a run's metric.
func (c *Client) GetMetricHistory(ctx context.Context, runID, key string) ([]store.Metric, error) {
	return c.store.GetMetricHistory(ctx, runID, key)
}

// SearchRuns returns one page of runs matching q.
func (c *Client) SearchRuns(ctx context.Context, q store.RunQuery) (*store.RunPage, error) {
	return c.store.SearchRuns(ctx, q)
}

// SearchExperiments returns one page of experiments matching q.
func (c *Client) SearchExperiments(ctx context.Context, q store.ExperimentQuery) (*store.ExperimentPage, error) {
	return c.store.SearchExperiments(ctx, q)
}

// defaultExperimentID resolves the experiment for a new run the way MLflow
// does: the one set with SetExperiment, else MLFLOW_EXPERIMENT_NAME
// (created if missing), else MLFLOW_EXPERIMENT_ID, else Default ("0").
func (c *Client) defaultExperimentID(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.experimentID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	envName, envID := os.Getenv("MLFLOW_EXPERIMENT_NAME"), os.Getenv("MLFLOW_EXPERIMENT_ID")
	if envName != "" {
		exp, err := c.getOrCreateExperiment(ctx, envName)
		if err != nil {
			return "", fmt.Errorf("MLFLOW_EXPERIMENT_NAME: %w", err)
		}
		if envID != "" && envID != exp.ID {
			return "", store.Invalidf("The provided MLFLOW_EXPERIMENT_ID environment variable value `%s` does not match the experiment id `%s` for experiment name `%s`", envID, exp.ID, envName)
		}
		return exp.ID, nil
	}
	if envID != "" {
		if _, err := c.store.GetExperiment(ctx, envID); err != nil {
			return "", store.Invalidf("The provided MLFLOW_EXPERIMENT_ID environment variable value `%s` does not exist in the tracking store: %v", envID, err)
		}
		return envID, nil
	}
	return store.DefaultExperimentID, nil
}
