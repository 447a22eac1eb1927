package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/internal/mlflowuri"
	"github.com/mlrun-go/mlrun/store"
)

// artifactsFolder is the last element of a run's artifact URI.
const artifactsFolder = "artifacts"

// Columns of runs MLflow's create_run fills with fixed values.
const (
	sourceTypeUnknown = "UNKNOWN"
)

// runColumns are the columns scanRunInfo reads, in order.
const runColumns = "run_uuid, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage, deleted_time"

// scanRunInfo reads a row of runColumns. NULL columns (old MLflow versions)
// read as zero values; an unknown status is store.ErrCorrupt.
func scanRunInfo(row interface{ Scan(...any) error }) (*store.RunInfo, error) {
	var (
		id                        string
		expID                     sql.NullInt64
		name, user, status        sql.NullString
		start, end, deleted       sql.NullInt64
		artifactURI, lifecycleStg sql.NullString
	)
	if err := row.Scan(&id, &expID, &name, &user, &status, &start, &end, &artifactURI, &lifecycleStg, &deleted); err != nil {
		return nil, err
	}
	st, err := store.ParseRunStatus(status.String)
	if err != nil {
		return nil, store.Corruptf("table runs: run %s has status %q", id, status.String)
	}
	info := &store.RunInfo{
		RunID:          id,
		ExperimentID:   strconv.FormatInt(expID.Int64, 10),
		RunName:        name.String,
		UserID:         user.String,
		Status:         st,
		StartTime:      start.Int64,
		ArtifactURI:    artifactURI.String,
		LifecycleStage: lifecycleStg.String,
	}
	if end.Valid {
		info.EndTime = &end.Int64
	}
	if deleted.Valid {
		info.DeletedTime = &deleted.Int64
	}
	return info, nil
}

func runNotFound(runID string) error {
	return store.NotFoundf("Run with id=%s not found", runID)
}

// runState is what a write needs to know about a run.
type runState struct {
	experimentID int64
	stage        string
	name         string
}

// runState reads a run's experiment, lifecycle stage and name, or fails
// with store.ErrNotFound.
func (s *Store) runState(ctx context.Context, tx *sql.Tx, runID string) (runState, error) {
	var r runState
	var exp sql.NullInt64
	var stage, name sql.NullString
	st, err := s.txStmt(ctx, tx, "SELECT experiment_id, lifecycle_stage, name FROM runs WHERE run_uuid = ?")
	if err != nil {
		return r, err
	}
	err = st.QueryRowContext(ctx, runID).Scan(&exp, &stage, &name)
	if err == sql.ErrNoRows {
		return r, runNotFound(runID)
	}
	r.experimentID, r.stage, r.name = exp.Int64, stage.String, name.String
	return r, err
}

// activeRun is runState for a write that needs an active run: a deleted
// run is store.ErrInvalidState.
func (s *Store) activeRun(ctx context.Context, tx *sql.Tx, runID string) (runState, error) {
	r, err := s.runState(ctx, tx, runID)
	if err == nil && r.stage != store.LifecycleActive {
		err = store.InvalidStatef("The run %s must be in the 'active' state. Current state is %s.", runID, r.stage)
	}
	return r, err
}

// CreateRun creates a run as MLflow's create_run does: a uuid4 hex id,
// status RUNNING, source_type UNKNOWN with empty source name, entry point
// and version, artifact_uri <experiment location>/<run id>/artifacts, and
// the mlflow.runName tag. The experiment must be active.
func (s *Store) CreateRun(ctx context.Context, req store.CreateRunRequest) (*store.Run, error) {
	expID, name, tags, check := store.ValidateCreateRun(req)
	n, idErr := parseExperimentID(expID) // this store's experiment ids are integers
	if err := s.enterWrite(ctx, idErr, check); err != nil {
		return nil, err
	}
	defer s.leave()
	tags = dedupeTags(tags)
	if err := s.checkTagLengths("tags", tags); err != nil {
		return nil, err
	}
	start := req.StartTime
	if start == 0 {
		start = s.now()
	}
	runID := s.newUUID()
	var info store.RunInfo
	err := s.write(ctx, "create run", func(tx *sql.Tx) error {
		var location, stage sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT artifact_location, lifecycle_stage FROM experiments WHERE experiment_id = ?", n).Scan(&location, &stage)
		if err == sql.ErrNoRows {
			return experimentNotFound(expID)
		}
		if err != nil {
			return err
		}
		if stage.String != store.LifecycleActive {
			return store.InvalidStatef("The experiment %s must be in the 'active' state. Current state is %s.", expID, stage.String)
		}
		uri, err := mlflowuri.AppendPath(location.String, runID, artifactsFolder)
		if err != nil {
			return store.Corruptf("table experiments: experiment %s has artifact location %q: %v", expID, location.String, err)
		}
		info = store.RunInfo{
			RunID:          runID,
			ExperimentID:   strconv.FormatInt(n, 10),
			RunName:        name,
			UserID:         req.UserID,
			Status:         store.StatusRunning,
			StartTime:      start,
			ArtifactURI:    uri,
			LifecycleStage: store.LifecycleActive,
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "+
			"start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time) "+
			"VALUES (?, ?, ?, '', '', ?, ?, ?, NULL, '', ?, ?, ?, NULL)",
			runID, name, sourceTypeUnknown, req.UserID, store.StatusRunning.String(), start, store.LifecycleActive, uri, n)
		if err != nil {
			return err
		}
		for _, t := range tags {
			if _, err := tx.ExecContext(ctx, "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", t.Key, t.Value, runID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &store.Run{Info: info, Data: store.RunData{Tags: tags}}, nil
}

// GetRun returns an active or deleted run with its latest metrics, params,
// tags and dataset inputs, read in one transaction.
func (s *Store) GetRun(ctx context.Context, runID string) (*store.Run, error) {
	if err := s.enter(ctx, store.ValidateRunID(runID)); err != nil {
		return nil, err
	}
	defer s.leave()
	var run *store.Run
	err := s.read(ctx, "get run", func(tx *sql.Tx) error {
		st, err := s.txStmt(ctx, tx, "SELECT "+runColumns+" FROM runs WHERE run_uuid = ?")
		if err != nil {
			return err
		}
		info, err := scanRunInfo(st.QueryRowContext(ctx, runID))
		if err == sql.ErrNoRows {
			return runNotFound(runID)
		}
		if err != nil {
			return err
		}
		runs := []*store.Run{{Info: *info}}
		if err := s.loadRunData(ctx, tx, runs); err != nil {
			return err
		}
		run = runs[0]
		return nil
	})
	return run, err
}

// loadRunData fills in the latest metrics, params, tags and inputs of runs
// whose Info is set, with one query per table (per 500 runs).
func (s *Store) loadRunData(ctx context.Context, tx *sql.Tx, runs []*store.Run) error {
	byID := make(map[string]*store.Run, len(runs))
	ids := make([]any, len(runs))
	for i, r := range runs {
		byID[r.Info.RunID] = r
		ids[i] = r.Info.RunID
	}
	one := len(runs) == 1
	query := func(q string, chunk []any) (*sql.Rows, error) {
		if one {
			// The common case (GetRun) uses a prepared statement.
			st, err := s.txStmt(ctx, tx, q+" = ?")
			if err != nil {
				return nil, err
			}
			return st.QueryContext(ctx, chunk...)
		}
		return tx.QueryContext(ctx, q+" IN ("+placeholders(len(chunk))+")", chunk...)
	}
	err := inChunks(ids, func(chunk []any) error {
		rows, err := query("SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid", chunk)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, key string
			var value float64
			var ts sql.NullInt64
			var step int64
			var isNaN bool
			if err := rows.Scan(&id, &key, &value, &ts, &step, &isNaN); err != nil {
				return err
			}
			if r := byID[id]; r != nil {
				r.Data.Metrics = append(r.Data.Metrics, store.Metric{Key: key, Value: unsanitize(value, isNaN), Timestamp: ts.Int64, Step: step})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	// params and tags: (run_uuid, key, value) rows.
	for _, kv := range []struct {
		table string
		add   func(r *store.Run, key, value string)
	}{
		{"params", func(r *store.Run, k, v string) { r.Data.Params = append(r.Data.Params, store.Param{Key: k, Value: v}) }},
		{"tags", func(r *store.Run, k, v string) { r.Data.Tags = append(r.Data.Tags, store.Tag{Key: k, Value: v}) }},
	} {
		err = inChunks(ids, func(chunk []any) error {
			rows, err := query("SELECT run_uuid, key, value FROM "+kv.table+" WHERE run_uuid", chunk)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, key string
				var value sql.NullString
				if err := rows.Scan(&id, &key, &value); err != nil {
					return err
				}
				if r := byID[id]; r != nil {
					kv.add(r, key, value.String)
				}
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
	}
	if err := s.loadInputs(ctx, tx, byID, ids); err != nil {
		return err
	}
	for _, r := range runs {
		slices.SortFunc(r.Data.Metrics, func(a, b store.Metric) int { return strings.Compare(a.Key, b.Key) })
		slices.SortFunc(r.Data.Params, func(a, b store.Param) int { return strings.Compare(a.Key, b.Key) })
		slices.SortFunc(r.Data.Tags, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
		if r.Info.RunName == "" {
			// Runs written by MLflow < 1.29 have no name column value.
			r.Info.RunName, _ = r.Tag(store.RunNameTag)
		}
	}
	return nil
}

// UpdateRun changes an active run's status, end time and name; a new name
// is also written to the mlflow.runName tag (update_run_info).
func (s *Store) UpdateRun(ctx context.Context, runID string, u store.RunUpdate) (*store.RunInfo, error) {
	if err := s.enterWrite(ctx, store.ValidateRunUpdate(runID, u)); err != nil {
		return nil, err
	}
	defer s.leave()
	var info *store.RunInfo
	err := s.write(ctx, "update run", func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		if u.Status != 0 {
			if _, err := tx.ExecContext(ctx, "UPDATE runs SET status = ? WHERE run_uuid = ?", u.Status.String(), runID); err != nil {
				return err
			}
		}
		if u.EndTime != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE runs SET end_time = ? WHERE run_uuid = ?", *u.EndTime, runID); err != nil {
				return err
			}
		}
		if u.RunName != "" {
			if err := s.setRunName(ctx, tx, runID, u.RunName); err != nil {
				return err
			}
		}
		var err error
		info, err = scanRunInfo(tx.QueryRowContext(ctx, "SELECT "+runColumns+" FROM runs WHERE run_uuid = ?", runID))
		return err
	})
	return info, err
}

// setRunName sets runs.name and the mlflow.runName tag.
func (s *Store) setRunName(ctx context.Context, tx *sql.Tx, runID, name string) error {
	if _, err := tx.ExecContext(ctx, "UPDATE runs SET name = ? WHERE run_uuid = ?", name, runID); err != nil {
		return err
	}
	st, err := s.txStmt(ctx, tx, upsertTagSQL)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, store.RunNameTag, name, runID)
	return err
}

// upsertTagSQL sets a run tag.
const upsertTagSQL = "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?) ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value"

// DeleteRun marks a run deleted and sets its deleted_time.
func (s *Store) DeleteRun(ctx context.Context, runID string) error {
	return s.setRunLifecycle(ctx, runID, store.LifecycleDeleted)
}

// RestoreRun marks a run active again and clears its deleted_time.
func (s *Store) RestoreRun(ctx context.Context, runID string) error {
	return s.setRunLifecycle(ctx, runID, store.LifecycleActive)
}

func (s *Store) setRunLifecycle(ctx context.Context, runID, stage string) error {
	if err := s.enterWrite(ctx, store.ValidateRunID(runID)); err != nil {
		return err
	}
	defer s.leave()
	return s.write(ctx, stage+" run", func(tx *sql.Tx) error {
		var deleted any
		if stage == store.LifecycleDeleted {
			deleted = s.now()
		}
		res, err := tx.ExecContext(ctx, "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?", stage, deleted, runID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, runNotFound(runID))
		}
		return nil
	})
}

// DeleteTag removes a tag of an active run; a missing tag is
// store.ErrNotFound.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	if err := s.enterWrite(ctx, store.ValidateDeleteTag(runID, key)); err != nil {
		return err
	}
	defer s.leave()
	return s.write(ctx, "delete tag", func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM tags WHERE run_uuid = ? AND key = ?", runID, key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, store.NotFoundf("No tag with name: %s in run with id %s", key, runID))
		}
		return nil
	})
}

// dedupeTags returns tags sorted by key, the last value of a repeated key
// winning, as when the tags are set one after another.
func dedupeTags(tags []store.Tag) []store.Tag {
	last := make(map[string]string, len(tags))
	for _, t := range tags {
		last[t.Key] = t.Value
	}
	out := make([]store.Tag, 0, len(last))
	for k, v := range last {
		out = append(out, store.Tag{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
	return out
}
