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

	// tagMu serializes the read-modify-writes of run tags on a store
	// without store.RunTagUpdater (see updateRunTag).
	tagMu sync.Mutex
}

// Option configures [Open].
type Option func(*config) error

type config struct {
	uri          string
	store        store.Store
	user         string
	now          func() time.Time
	models       modelConfig
	artifactRoot string // WithArtifactRoot; "" means MLflow's default

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

// WithArtifactRoot sets the default artifact root of a SQLite store:
// experiments created without an artifact location get
// <root>/<experiment id>, and their runs' artifacts go under it. root is a
// local path (a relative one is made absolute against the current
// directory) or a file: URI. Without it, the root is what MLflow's Python
// client (3.17.2) uses for a sqlite: tracking URI: the
// _MLFLOW_SERVER_ARTIFACT_ROOT environment variable if set (MLflow 3 reads
// it; a client targeting MLflow 2 with WithMLflowVersion does not), else
// ./mlruns of the current directory. Existing experiments keep their
// location. A file store keeps artifacts inside the mlruns directory, as
// MLflow's FileStore does: WithArtifactRoot with a file store, or with
// WithStore, is an error.
func WithArtifactRoot(root string) Option {
	return func(c *config) error {
		if root == "" {
			return errors.New("mlrun: artifact root must not be empty")
		}
		if !isLocalURI(root) {
			return store.Invalidf("mlrun: artifact root %q is not a local path or file: URI; mlrun writes artifacts only to local directories", root)
		}
		c.artifactRoot = root
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
	if ctx == nil {
		return nil, store.Invalidf("mlrun: nil context.Context (use context.Background())")
	}
	cfg := config{now: time.Now}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	cfg.models.readEnv()
	c := &Client{store: cfg.store, user: cfg.user, now: cfg.now, models: cfg.models}
	if c.user == "" {
		c.user = currentUser()
	}
	if cfg.store != nil {
		if cfg.readOnly {
			return nil, errWithStoreReadOnly
		}
		if cfg.artifactRoot != "" {
			return nil, store.Invalidf("mlrun: WithArtifactRoot does not apply to a store opened before (WithStore); open the SQLite store with sqlstore.Options.ArtifactRoot")
		}
		c.uri = cfg.uri
		return c, nil
	}
	uri := ResolveTrackingURI(cfg.uri)
	s, err := openStore(ctx, uri, cfg)
	if err != nil {
		return nil, err
	}
	c.store, c.uri, c.ownsStore = s, uri, true
	return c, nil
}

// Close closes the store if Open opened it.
func (c *Client) Close() error {
	if err := c.valid(); err != nil {
		return err
	}
	if c.ownsStore {
		return c.store.Close()
	}
	return nil
}

// Store returns the underlying store (nil for a nil Client).
func (c *Client) Store() store.Store {
	if c == nil {
		return nil
	}
	return c.store
}

// TrackingURI returns the URI the client was opened with.
func (c *Client) TrackingURI() string {
	if c == nil {
		return ""
	}
	return c.uri
}

func (c *Client) nowMillis() int64 { return c.now().UnixMilli() }

// SetExperiment makes the experiment with this name the one new runs go to,
// creating it if it does not exist (safe when many processes race). A
// deleted experiment of that name is an error, as in MLflow.
//
// The options are those of [Client.CreateExperiment] (tags, artifact
// location, description) and apply only when SetExperiment creates the
// experiment: an existing experiment is used as it is, unchanged, as
// mlflow.set_experiment does (set its tags with SetExperimentTag). They are
// checked either way.
func (c *Client) SetExperiment(ctx context.Context, name string, opts ...ExperimentOption) (*store.Experiment, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	cfg, err := experimentOptions(opts)
	if err != nil {
		return nil, err
	}
	exp, err := c.getOrCreateExperiment(ctx, name, cfg)
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
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
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

// getOrCreateExperiment returns the experiment of this name, creating it
// with cfg if it does not exist.
func (c *Client) getOrCreateExperiment(ctx context.Context, name string, cfg experimentConfig) (*store.Experiment, error) {
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
	id, err := c.store.CreateExperiment(ctx, name, cfg.artifactLocation, cfg.tags)
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
		for _, t := range sortedTags(tags) {
			if err := store.ValidateExperimentTag(t); err != nil {
				return err
			}
			c.tags = append(c.tags, t)
		}
		return nil
	}
}

// WithExperimentDescription sets a new experiment's description (the
// mlflow.note.content tag).
func WithExperimentDescription(text string) ExperimentOption {
	return func(c *experimentConfig) error {
		t := store.Tag{Key: TagNote, Value: text}
		if err := store.ValidateExperimentTag(t); err != nil {
			return err
		}
		c.tags = append(c.tags, t)
		return nil
	}
}

// experimentOptions applies the options of CreateExperiment and
// SetExperiment.
func experimentOptions(opts []ExperimentOption) (experimentConfig, error) {
	var cfg experimentConfig
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// CreateExperiment creates an experiment; a taken name is ErrAlreadyExists.
func (c *Client) CreateExperiment(ctx context.Context, name string, opts ...ExperimentOption) (*store.Experiment, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	cfg, err := experimentOptions(opts)
	if err != nil {
		return nil, err
	}
	id, err := c.store.CreateExperiment(ctx, name, cfg.artifactLocation, cfg.tags)
	if err != nil {
		return nil, err
	}
	return c.store.GetExperiment(ctx, id)
}

// GetExperiment returns an experiment by id.
func (c *Client) GetExperiment(ctx context.Context, id string) (*store.Experiment, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	return c.store.GetExperiment(ctx, id)
}

// GetExperimentByName returns an experiment by name.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (*store.Experiment, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	return c.store.GetExperimentByName(ctx, name)
}

// RenameExperiment renames an experiment.
func (c *Client) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.store.RenameExperiment(ctx, id, newName)
}

// DeleteExperiment deletes an experiment and its runs (restorable).
func (c *Client) DeleteExperiment(ctx context.Context, id string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.store.DeleteExperiment(ctx, id)
}

// RestoreExperiment restores a deleted experiment and its runs.
func (c *Client) RestoreExperiment(ctx context.Context, id string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.store.RestoreExperiment(ctx, id)
}

// SetExperimentTag sets a tag on an experiment.
func (c *Client) SetExperimentTag(ctx context.Context, id, key, value string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.store.SetExperimentTag(ctx, id, store.Tag{Key: key, Value: value})
}

// GetRun returns a run with its latest metrics, params, tags and inputs.
func (c *Client) GetRun(ctx context.Context, runID string) (*store.Run, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	return c.store.GetRun(ctx, runID)
}

// DeleteRun deletes a run (restorable).
func (c *Client) DeleteRun(ctx context.Context, runID string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.store.DeleteRun(ctx, runID)
}

// RestoreRun restores a deleted run.
func (c *Client) RestoreRun(ctx context.Context, runID string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.store.RestoreRun(ctx, runID)
}

// GetMetricHistory returns every logged point of a run's metric.
func (c *Client) GetMetricHistory(ctx context.Context, runID, key string) ([]store.Metric, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	return c.store.GetMetricHistory(ctx, runID, key)
}

// SearchRuns returns one page of runs matching q. Without experiment ids
// it searches the current experiment, as mlflow.search_runs does: the one
// set with SetExperiment, else MLFLOW_EXPERIMENT_NAME (created if missing)
// or MLFLOW_EXPERIMENT_ID, else Default.
func (c *Client) SearchRuns(ctx context.Context, q store.RunQuery) (*store.RunPage, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	if len(q.ExperimentIDs) == 0 {
		id, err := c.defaultExperimentID(ctx)
		if err != nil {
			return nil, err
		}
		q.ExperimentIDs = []string{id}
	}
	return c.store.SearchRuns(ctx, q)
}

// SearchExperiments returns one page of experiments matching q.
func (c *Client) SearchExperiments(ctx context.Context, q store.ExperimentQuery) (*store.ExperimentPage, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
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
		exp, err := c.getOrCreateExperiment(ctx, envName, experimentConfig{})
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
