package store

import "context"

// Store is the contract every tracking backend implements. Implementations
// are safe for concurrent use by multiple goroutines, and (for the file and
// SQLite backends) by multiple processes sharing one store.
//
// Every method validates its input before writing anything: a request that
// fails validation returns an ErrInvalidParameter error and leaves the store
// unchanged. Every string must be valid UTF-8 (see ValidateText). A nil
// context is an ErrInvalidParameter error (see CheckContext), on every
// method of every backend; on a store opened read-only every write method
// fails with ErrReadOnly.
type Store interface {
	// CreateExperiment creates an experiment and returns its id. An empty
	// artifactLocation means the backend's default (<root>/<id>); any other
	// is checked and resolved by ExperimentArtifactLocation. The name
	// must be unique among active and deleted experiments: a taken name
	// gives ErrAlreadyExists, also when two processes race.
	CreateExperiment(ctx context.Context, name, artifactLocation string, tags []Tag) (string, error)

	// GetExperiment returns an active or deleted experiment by id.
	GetExperiment(ctx context.Context, id string) (*Experiment, error)

	// GetExperimentByName returns an active or deleted experiment by name.
	GetExperimentByName(ctx context.Context, name string) (*Experiment, error)

	// SearchExperiments lists experiments matching q.
	SearchExperiments(ctx context.Context, q ExperimentQuery) (*ExperimentPage, error)

	// RenameExperiment changes an active experiment's name. A deleted
	// experiment gives ErrInvalidState, a taken name ErrAlreadyExists.
	RenameExperiment(ctx context.Context, id, newName string) error

	// DeleteExperiment marks an experiment and its active runs deleted.
	// The Default experiment cannot be deleted (ErrInvalidParameter).
	DeleteExperiment(ctx context.Context, id string) error

	// RestoreExperiment restores a deleted experiment and its runs.
	// Restoring an active experiment is ErrInvalidState.
	RestoreExperiment(ctx context.Context, id string) error

	// SetExperimentTag sets (or replaces) an experiment tag.
	SetExperimentTag(ctx context.Context, id string, tag Tag) error

	// CreateRun creates a run in RUNNING state. An empty RunName gets a
	// generated adjective-noun-NNN name; the mlflow.runName tag is set to
	// the run name.
	CreateRun(ctx context.Context, req CreateRunRequest) (*Run, error)

	// GetRun returns an active or deleted run with its latest metrics,
	// params, tags and inputs.
	GetRun(ctx context.Context, runID string) (*Run, error)

	// UpdateRun changes a run's status, end time and name. A zero Status,
	// nil EndTime or empty RunName leaves that field unchanged.
	UpdateRun(ctx context.Context, runID string, u RunUpdate) (*RunInfo, error)

	// DeleteRun marks a run deleted; RestoreRun makes it active again.
	DeleteRun(ctx context.Context, runID string) error
	RestoreRun(ctx context.Context, runID string) error

	// LogBatch logs metrics, params and tags to an active run. The whole
	// batch is validated first (limits 1000/100/100, 1000 in total); a
	// param logged again with a different value is ErrInvalidParameter.
	// Logging to a deleted run is ErrInvalidState. Logging params or
	// metrics to a terminated run is allowed, as in MLflow.
	LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error

	// DeleteTag removes a run tag; a missing tag is ErrNotFound.
	DeleteTag(ctx context.Context, runID, key string) error

	// LogInputs records datasets used by a run. Logging a dataset (same
	// name and digest) the run already has is a no-op. Logging inputs to a
	// deleted run is ErrInvalidState.
	LogInputs(ctx context.Context, runID string, inputs []DatasetInput) error

	// GetMetricHistory returns every point of a metric in logging order.
	// An unknown key gives an empty history; an unknown run ErrNotFound.
	GetMetricHistory(ctx context.Context, runID, key string) ([]Metric, error)

	// SearchRuns lists runs of the given experiments matching q.
	SearchRuns(ctx context.Context, q RunQuery) (*RunPage, error)

	// Close releases the store's resources. Further calls return ErrClosed.
	Close() error
}

// CreateRunRequest describes a new run.
type CreateRunRequest struct {
	ExperimentID string
	UserID       string
	StartTime    int64 // ms since the epoch; 0 means now
	RunName      string
	Tags         []Tag
}

// RunUpdate changes a run's info; zero fields are left unchanged.
type RunUpdate struct {
	Status  RunStatus
	EndTime *int64
	RunName string
}

// ExperimentQuery selects experiments.
type ExperimentQuery struct {
	Filter     string   // MLflow filter string; "" matches all
	OrderBy    []string // MLflow order-by clauses
	MaxResults int      // 0 means the backend default (1000)
	PageToken  string
	ViewType   ViewType // zero means ActiveOnly
}

// ExperimentPage is one page of experiments.
type ExperimentPage struct {
	Experiments   []*Experiment
	NextPageToken string
}

// RunQuery selects runs.
type RunQuery struct {
	ExperimentIDs []string
	Filter        string   // MLflow filter string; "" matches all
	OrderBy       []string // MLflow order-by clauses; default start_time DESC, run_id
	MaxResults    int      // 0 means 1000; at most 50000
	PageToken     string
	ViewType      ViewType // zero means ActiveOnly
}

// RunPage is one page of runs.
type RunPage struct {
	Runs          []*Run
	NextPageToken string
}

// Default and maximum page sizes, as in MLflow.
const (
	DefaultMaxResults = 1000
	MaxResultsLimit   = 50000
)
