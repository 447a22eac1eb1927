package store

import "context"

// Purger is an optional capability of a Store: the permanent removal of
// deleted entities that `mlflow gc` does (FileStore and SqlAlchemyStore
// _hard_delete_run, _hard_delete_experiment, _hard_delete_logged_model).
// Artifact files are the caller's to remove; a run's or a model's files
// inside the store's own directories (the file store's default layout) go
// with it.
type Purger interface {
	// PurgeRun removes a deleted run with its metrics, params, tags and
	// inputs. An active run is ErrInvalidState.
	PurgeRun(ctx context.Context, runID string) error
	// PurgeExperiment removes a deleted experiment with its tags, and
	// whatever it still holds (runs, datasets, logged models), as MLflow
	// does. An active experiment is ErrInvalidState.
	PurgeExperiment(ctx context.Context, id string) error
	// ListDeletedLoggedModels lists the logged models in the deleted lifecycle
	// stage (which GetLoggedModel and SearchLoggedModels do not show),
	// with their artifact locations and last update times. A store
	// without logged models has none.
	ListDeletedLoggedModels(ctx context.Context) ([]*LoggedModel, error)
	// PurgeLoggedModel removes a deleted logged model with its params,
	// tags and metrics. An active one is ErrInvalidState.
	PurgeLoggedModel(ctx context.Context, modelID string) error
}
