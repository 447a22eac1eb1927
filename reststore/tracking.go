package reststore

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/store"
)

// Every method checks its arguments with the store package's validation
// (the same rules as the file and SQLite backends, MLflow's) before
// sending anything, so that a bad request fails the same way on every
// backend and never reaches the server.

// CreateExperiment creates an experiment (POST experiments/create). It is
// not retried once the request may have reached the server: a retry of a
// processed create would answer RESOURCE_ALREADY_EXISTS for the caller's
// own experiment.
func (s *Store) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []store.Tag) (string, error) {
	if err := store.CheckContext(ctx); err != nil {
		return "", err
	}
	// The location goes to the server as given: like MLflow's client, the
	// server resolves a relative one (against its own working directory).
	if _, err := store.ValidateCreateExperiment(name, artifactLocation, tags); err != nil {
		return "", err
	}
	in := struct {
		Name             string `json:"name"`
		ArtifactLocation string `json:"artifact_location,omitempty"`
		Tags             []kv   `json:"tags,omitempty"`
	}{name, artifactLocation, tagsJSON(tags)}
	var out struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := s.post(ctx, "experiments/create", notIdem, in, &out); err != nil {
		return "", err
	}
	return out.ExperimentID, nil
}

// GetExperiment returns an experiment by id (GET experiments/get).
func (s *Store) GetExperiment(ctx context.Context, id string) (*store.Experiment, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateExperimentID(id); err != nil {
		return nil, err
	}
	var out struct {
		Experiment jsonExperiment `json:"experiment"`
	}
	if err := s.get(ctx, "experiments/get", url.Values{"experiment_id": {id}}, &out); err != nil {
		return nil, err
	}
	return out.Experiment.entity(), nil
}

// GetExperimentByName returns an experiment by name (GET
// experiments/get-by-name).
func (s *Store) GetExperimentByName(ctx context.Context, name string) (*store.Experiment, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, store.Invalidf("Missing value for required parameter 'experiment_name'.")
	}
	var out struct {
		Experiment jsonExperiment `json:"experiment"`
	}
	if err := s.get(ctx, "experiments/get-by-name", url.Values{"experiment_name": {name}}, &out); err != nil {
		return nil, err
	}
	return out.Experiment.entity(), nil
}

// SearchExperiments lists experiments (POST experiments/search).
func (s *Store) SearchExperiments(ctx context.Context, q store.ExperimentQuery) (*store.ExperimentPage, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if q.MaxResults < 0 || q.MaxResults > store.MaxResultsLimit {
		return nil, store.Invalidf("Invalid value %d for parameter 'max_results' supplied. It must be at most %d.", q.MaxResults, store.MaxResultsLimit)
	}
	max := q.MaxResults
	if max == 0 {
		max = store.DefaultMaxResults
	}
	in := struct {
		MaxResults int      `json:"max_results"`
		PageToken  string   `json:"page_token,omitempty"`
		Filter     string   `json:"filter,omitempty"`
		OrderBy    []string `json:"order_by,omitempty"`
		ViewType   string   `json:"view_type"`
	}{max, q.PageToken, q.Filter, q.OrderBy, viewTypeName(q.ViewType)}
	var out struct {
		Experiments   []jsonExperiment `json:"experiments"`
		NextPageToken string           `json:"next_page_token"`
	}
	n, next, err := page(ctx, max, store.MaxResultsLimit, func(ctx context.Context, n int) (int, string, error) {
		in.MaxResults = n
		out.Experiments, out.NextPageToken = nil, ""
		err := s.post(ctx, "experiments/search", idem, in, &out)
		return len(out.Experiments), out.NextPageToken, err
	})
	if err != nil {
		return nil, err
	}
	p := &store.ExperimentPage{Experiments: make([]*store.Experiment, 0, n), NextPageToken: next}
	for i := range out.Experiments[:n] {
		p.Experiments = append(p.Experiments, out.Experiments[i].entity())
	}
	return p, nil
}

// RenameExperiment renames an experiment (POST experiments/update).
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateExperimentID(id); err != nil {
		return err
	}
	if err := store.ValidateExperimentName(newName); err != nil {
		return err
	}
	in := struct {
		ID      string `json:"experiment_id"`
		NewName string `json:"new_name"`
	}{id, newName}
	err := s.post(ctx, "experiments/update", notIdem, in, nil)
	if err != nil && isUniqueViolation(err.Error()) {
		// MLflow 2's server passes the database's refusal on as BAD_REQUEST.
		return store.AlreadyExistsf("Experiment '%s' already exists: %v", newName, err)
	}
	return err
}

type experimentID struct {
	ID string `json:"experiment_id"`
}

// DeleteExperiment deletes an experiment (POST experiments/delete).
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateExperimentID(id); err != nil {
		return err
	}
	if id == store.DefaultExperimentID {
		return store.Invalidf("Cannot delete the default experiment '%s'. This is an internally reserved experiment.", id)
	}
	return s.post(ctx, "experiments/delete", notIdem, experimentID{id}, nil)
}

// RestoreExperiment restores a deleted experiment (POST
// experiments/restore). MLflow's server restores an active experiment
// without complaint; the store contract calls that ErrInvalidState, so the
// experiment's state is read first.
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	e, err := s.GetExperiment(ctx, id)
	if err != nil {
		return err
	}
	if e.LifecycleStage == store.LifecycleActive {
		return store.InvalidStatef("Cannot restore an active experiment.")
	}
	return s.post(ctx, "experiments/restore", notIdem, experimentID{id}, nil)
}

// SetExperimentTag sets an experiment tag (POST
// experiments/set-experiment-tag).
func (s *Store) SetExperimentTag(ctx context.Context, id string, tag store.Tag) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateExperimentID(id); err != nil {
		return err
	}
	if err := store.ValidateExperimentTag(tag); err != nil {
		return err
	}
	in := struct {
		ID    string `json:"experiment_id"`
		Key   string `json:"key"`
		Value string `json:"value"`
	}{id, tag.Key, tag.Value}
	return s.post(ctx, "experiments/set-experiment-tag", idem, in, nil)
}

// CreateRun creates a run (POST runs/create). The run's name and tags are
// decided as every backend decides them (store.CreateRunRequest
// .RunNameAndTags). Not retried once it may have reached the server: a
// retry would make a second run.
func (s *Store) CreateRun(ctx context.Context, req store.CreateRunRequest) (*store.Run, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	expID := req.ExperimentID
	if expID == "" {
		expID = store.DefaultExperimentID
	}
	if err := store.ValidateExperimentID(expID); err != nil {
		return nil, err
	}
	name, tags, err := req.RunNameAndTags()
	if err != nil {
		return nil, err
	}
	start := req.StartTime
	if start == 0 {
		start = store.NowMillis()
	}
	if start < 0 {
		return nil, store.Invalidf("Invalid value %d for parameter 'start_time' supplied.", start)
	}
	in := struct {
		ExperimentID string `json:"experiment_id"`
		UserID       string `json:"user_id,omitempty"`
		RunName      string `json:"run_name"`
		StartTime    i64    `json:"start_time"`
		Tags         []kv   `json:"tags,omitempty"`
	}{expID, req.UserID, name, i64(start), tagsJSON(tags)}
	var out struct {
		Run jsonRun `json:"run"`
	}
	if err := s.post(ctx, "runs/create", notIdem, in, &out); err != nil {
		return nil, err
	}
	return out.Run.entity(), nil
}

// GetRun returns a run (GET runs/get).
func (s *Store) GetRun(ctx context.Context, runID string) (*store.Run, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateRunID(runID); err != nil {
		return nil, err
	}
	var out struct {
		Run jsonRun `json:"run"`
	}
	if err := s.get(ctx, "runs/get", url.Values{"run_id": {runID}}, &out); err != nil {
		return nil, err
	}
	return out.Run.entity(), nil
}

// UpdateRun changes a run's status, end time or name (POST runs/update;
// setting the same values again changes nothing, so it is retried).
func (s *Store) UpdateRun(ctx context.Context, runID string, u store.RunUpdate) (*store.RunInfo, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateRunUpdate(runID, u); err != nil {
		return nil, err
	}
	in := struct {
		RunID   string `json:"run_id"`
		Status  string `json:"status,omitempty"`
		EndTime *i64   `json:"end_time,omitempty"`
		RunName string `json:"run_name,omitempty"`
	}{RunID: runID, EndTime: ptrI64(u.EndTime), RunName: u.RunName}
	if u.Status != 0 {
		in.Status = u.Status.String()
	}
	var out struct {
		RunInfo jsonRunInfo `json:"run_info"`
	}
	if err := s.post(ctx, "runs/update", idem, in, &out); err != nil {
		return nil, err
	}
	info := out.RunInfo.entity()
	return &info, nil
}

type runID struct {
	RunID string `json:"run_id"`
}

// DeleteRun soft-deletes a run (POST runs/delete).
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateRunID(id); err != nil {
		return err
	}
	return s.post(ctx, "runs/delete", idem, runID{id}, nil)
}

// RestoreRun restores a deleted run (POST runs/restore).
func (s *Store) RestoreRun(ctx context.Context, id string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateRunID(id); err != nil {
		return err
	}
	return s.post(ctx, "runs/restore", idem, runID{id}, nil)
}

// LogBatch logs metrics, params and tags in one request (POST
// runs/log-batch). The batch is checked against MLflow's limits first.
//
// A LogBatch whose request may have been processed is retried: MLflow's
// SQL store keeps a metric point once per (key, timestamp, step, value)
// (the metrics table's primary key; SqlAlchemyStore._log_metrics skips
// rows already stored), accepts a param logged again with the same
// value, and overwrites tags, so a repeated batch adds nothing. Every
// point of a LogBatch that returned nil is then stored exactly once.
func (s *Store) LogBatch(ctx context.Context, id string, metrics []store.Metric, params []store.Param, tags []store.Tag) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateRunID(id); err != nil {
		return err
	}
	if err := store.ValidateBatch(metrics, params, tags); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	if len(metrics)+len(params)+len(tags) == 0 {
		return nil
	}
	ms := make([]jsonMetric, len(metrics))
	for i, m := range metrics {
		ms[i] = metricJSON(m)
	}
	return s.logBatch(ctx, id, ms, paramsJSON(params), tagsJSON(tags))
}

func (s *Store) logBatch(ctx context.Context, id string, metrics []jsonMetric, params, tags []kv) error {
	in := struct {
		RunID   string       `json:"run_id"`
		Metrics []jsonMetric `json:"metrics,omitempty"`
		Params  []kv         `json:"params,omitempty"`
		Tags    []kv         `json:"tags,omitempty"`
	}{id, metrics, params, tags}
	for attempt := 1; ; attempt++ {
		err := s.post(ctx, "runs/log-batch", idem, in, nil)
		if err == nil || len(params) == 0 || !isParamRace(err) || attempt == paramRaceRetries {
			return err
		}
	}
}

// paramRaceRetries bounds how often a LogBatch that lost a param race is
// sent again.
const paramRaceRetries = 4

// isParamRace reports whether a log-batch failed because another request
// inserted one of its params at the same moment: MLflow's SQL store looks
// for existing params and then inserts the new ones, and on PostgreSQL two
// concurrent batches logging the same param both insert it, so one fails
// on the params primary key (BAD_REQUEST with the IntegrityError). No row
// of that batch was written (params go first); sent again, it finds the
// param logged, which is accepted with the same value and refused with
// "Changing param values is not allowed" with another.
func isParamRace(err error) bool {
	var he *mlflowhttp.Error
	if !errors.As(err, &he) {
		return false
	}
	m := he.Message
	return strings.Contains(m, `unique constraint "param_pk"`) || strings.Contains(m, "UNIQUE constraint failed: params.")
}

// DeleteTag removes a run tag (POST runs/delete-tag). Not retried once it
// may have been processed: a repeat would answer that the tag is missing.
func (s *Store) DeleteTag(ctx context.Context, id, key string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateRunID(id); err != nil {
		return err
	}
	if err := store.ValidateTag(store.Tag{Key: key}); err != nil {
		return err
	}
	in := struct {
		RunID string `json:"run_id"`
		Key   string `json:"key"`
	}{id, key}
	return s.post(ctx, "runs/delete-tag", notIdem, in, nil)
}

// LogInputs logs datasets used by a run (POST runs/log-inputs; a dataset
// the run already has is not logged again, so it is retried).
func (s *Store) LogInputs(ctx context.Context, id string, inputs []store.DatasetInput) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateRunID(id); err != nil {
		return err
	}
	for _, in := range inputs {
		if err := store.ValidateDatasetInput(in); err != nil {
			return err
		}
	}
	if err := s.check(); err != nil {
		return err
	}
	if len(inputs) == 0 {
		return nil
	}
	ds := make([]jsonDatasetInput, len(inputs))
	for i, in := range inputs {
		ds[i] = datasetInputJSON(in)
	}
	in := struct {
		RunID    string             `json:"run_id"`
		Datasets []jsonDatasetInput `json:"datasets"`
	}{id, ds}
	return s.post(ctx, "runs/log-inputs", idem, in, nil)
}

// HistoryPageSize is how many points GetMetricHistory asks for per page,
// as MLflow's client does.
const HistoryPageSize = 25000

// historyPageSize is HistoryPageSize, smaller in tests.
var historyPageSize = HistoryPageSize

// GetMetricHistory returns every point of a metric (GET
// metrics/get-history, following page tokens). MLflow 3's server returns
// the points ordered by (timestamp, step, value), not in logging order.
func (s *Store) GetMetricHistory(ctx context.Context, id, key string) ([]store.Metric, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateRunID(id); err != nil {
		return nil, err
	}
	if err := store.ValidateMetric(store.Metric{Key: key}); err != nil {
		return nil, err
	}
	out := []store.Metric{}
	token := ""
	for {
		q := url.Values{"run_id": {id}, "metric_key": {key}, "max_results": {strconv.Itoa(historyPageSize)}}
		if token != "" {
			q.Set("page_token", token)
		}
		var page struct {
			Metrics       []jsonMetric `json:"metrics"`
			NextPageToken string       `json:"next_page_token"`
		}
		if err := s.get(ctx, "metrics/get-history", q, &page); err != nil {
			return nil, err
		}
		for _, m := range page.Metrics {
			out = append(out, m.entity())
		}
		if page.NextPageToken == "" || page.NextPageToken == token || len(page.Metrics) == 0 {
			break
		}
		token = page.NextPageToken
	}
	if len(out) == 0 {
		// MLflow 2's server answers an empty history for an unknown run.
		if _, err := s.GetRun(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SearchRuns lists runs (POST runs/search).
func (s *Store) SearchRuns(ctx context.Context, q store.RunQuery) (*store.RunPage, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if q.MaxResults < 0 || q.MaxResults > store.MaxResultsLimit {
		return nil, store.Invalidf("Invalid value %d for parameter 'max_results' supplied. It must be at most %d.", q.MaxResults, store.MaxResultsLimit)
	}
	for _, id := range q.ExperimentIDs {
		if err := store.ValidateExperimentID(id); err != nil {
			return nil, err
		}
	}
	max := q.MaxResults
	if max == 0 {
		max = store.DefaultMaxResults
	}
	in := struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter,omitempty"`
		ViewType      string   `json:"run_view_type"`
		MaxResults    int      `json:"max_results"`
		OrderBy       []string `json:"order_by,omitempty"`
		PageToken     string   `json:"page_token,omitempty"`
	}{q.ExperimentIDs, q.Filter, viewTypeName(q.ViewType), max, q.OrderBy, q.PageToken}
	if in.ExperimentIDs == nil {
		in.ExperimentIDs = []string{}
	}
	var out struct {
		Runs          []jsonRun `json:"runs"`
		NextPageToken string    `json:"next_page_token"`
	}
	n, next, err := page(ctx, max, store.MaxResultsLimit, func(ctx context.Context, n int) (int, string, error) {
		in.MaxResults = n
		out.Runs, out.NextPageToken = nil, ""
		err := s.post(ctx, "runs/search", idem, in, &out)
		return len(out.Runs), out.NextPageToken, err
	})
	if err != nil {
		return nil, err
	}
	p := &store.RunPage{Runs: make([]*store.Run, 0, n), NextPageToken: next}
	for i := range out.Runs[:n] {
		p.Runs = append(p.Runs, out.Runs[i].entity())
	}
	return p, nil
}
