package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/mlrun-go/mlrun/internal/mlflowuri"
	"github.com/mlrun-go/mlrun/store"
)

// This file implements store.Importer: entities of another store written
// with their ids, times and states, in the rows MLflow's SQL store (and
// this store's own writes) hold for them. A run is written in ONE
// transaction with its whole metric history, so that an import that fails
// half-way leaves no partial run. Even a dry run needs a writable store,
// so that a read-only destination is refused before anything is written.

var (
	_ store.Importer = (*Store)(nil)
	_ store.Purger   = (*Store)(nil)
)

// ImportExperiment implements store.Importer. A new experiment gets the
// id it had if that is an integer free here (else the next rowid), and
// the default artifact location <artifact root>/<id>.
func (s *Store) ImportExperiment(ctx context.Context, e store.ImportExperiment, opts store.ImportOptions) (store.ImportResult, error) {
	if err := s.enterWrite(ctx, store.ValidateImportExperiment(e)); err != nil {
		return store.ImportResult{}, err
	}
	defer s.leave()
	var res store.ImportResult
	err := s.importTx(ctx, "import experiment", opts, func(tx *sql.Tx) error {
		res = store.ImportResult{}
		q := "SELECT " + experimentColumns + " FROM experiments WHERE name = ?"
		args := []any{e.Name}
		if s.features.experimentWorkspace {
			q += " AND workspace = ?"
			args = append(args, defaultWorkspace)
		}
		have, err := scanExperiment(tx.QueryRowContext(ctx, q, args...))
		if err == nil {
			n, _ := strconv.ParseInt(have.ID, 10, 64)
			if err := s.loadExperimentTags(ctx, tx, map[int64]*store.Experiment{n: have}); err != nil {
				return err
			}
			res.ID, res.ArtifactLocation = have.ID, have.ArtifactLocation
			for _, k := range slices.Sorted(maps.Keys(e.Tags)) {
				v, ok := have.Tags[k]
				if ok {
					if v != e.Tags[k] {
						res.Notes = append(res.Notes, fmt.Sprintf("experiment %q: tag %q differs; the destination's value is kept", e.Name, k))
					}
					continue
				}
				if opts.DryRun {
					continue
				}
				if _, err := tx.ExecContext(ctx, "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?, ?, ?)", k, e.Tags[k], n); err != nil {
					return err
				}
			}
			return nil
		}
		if err != sql.ErrNoRows {
			return err
		}
		res.Created = true
		var id int64 = -1
		if n, err := strconv.ParseInt(e.ID, 10, 64); err == nil && n >= 0 && strconv.FormatInt(n, 10) == e.ID {
			var taken int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM experiments WHERE experiment_id = ?", n).Scan(&taken); err != nil {
				return err
			}
			if taken == 0 {
				id = n
			}
		}
		if opts.DryRun {
			if id >= 0 {
				res.ID = strconv.FormatInt(id, 10)
			}
			return nil
		}
		if id < 0 {
			if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(experiment_id), -1) + 1 FROM experiments").Scan(&id); err != nil {
				return err
			}
		}
		loc, err := mlflowuri.AppendPath(s.artifactRoot, strconv.FormatInt(id, 10))
		if err != nil {
			return err
		}
		cols := "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time"
		vals := []any{id, e.Name, loc, e.LifecycleStage, e.CreationTime, e.LastUpdateTime}
		if s.features.experimentWorkspace {
			cols += ", workspace"
			vals = append(vals, defaultWorkspace)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO experiments ("+cols+") VALUES ("+placeholders(len(vals))+")", vals...); err != nil {
			if isConstraint(err) {
				return store.Conflictf("experiment %q: its name or id %d was taken meanwhile", e.Name, id)
			}
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(e.Tags)) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?, ?, ?)", k, e.Tags[k], id); err != nil {
				return err
			}
		}
		res.ID, res.ArtifactLocation = strconv.FormatInt(id, 10), loc
		return nil
	})
	return res, err
}

// importTx runs fn in a write transaction, or in a read transaction for a
// dry run. fn must not be run twice once it has consumed a stream; see
// streamOnce.
func (s *Store) importTx(ctx context.Context, op string, opts store.ImportOptions, fn func(tx *sql.Tx) error) error {
	if opts.DryRun {
		return s.read(ctx, op, fn)
	}
	return s.write(ctx, op, fn)
}

// streamOnce wraps a transaction body that consumes a metric stream: the
// store retries a transaction that found the database busy, and a stream
// cannot be read twice.
func streamOnce(runID string, fn func(tx *sql.Tx) error) func(tx *sql.Tx) error {
	started := false
	return func(tx *sql.Tx) error {
		if started {
			return store.Errorf(store.ErrLocked, "import of run %s: the database was busy after the import had begun; run the import again", runID)
		}
		started = true
		return fn(tx)
	}
}

// readRun reads a run with its data, outputs (where the schema has them)
// and the keys of its metric history; ok is false if there is no such run.
func (s *Store) readRun(ctx context.Context, tx *sql.Tx, runID string) (run *store.Run, outputs []store.LoggedModelOutput, keys []string, ok bool, err error) {
	info, err := scanRunInfo(tx.QueryRowContext(ctx, "SELECT "+runColumns+" FROM runs WHERE run_uuid = ?", runID))
	if err == sql.ErrNoRows {
		return nil, nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, nil, false, err
	}
	run = &store.Run{Info: *info}
	if err := s.loadRunData(ctx, tx, []*store.Run{run}); err != nil {
		return nil, nil, nil, false, err
	}
	if s.features.loggedModels {
		if outputs, err = s.readOutputs(ctx, tx, runID); err != nil {
			return nil, nil, nil, false, err
		}
	}
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT key FROM metrics WHERE run_uuid = ? ORDER BY key", runID)
	if err != nil {
		return nil, nil, nil, false, err
	}
	err = eachRow(rows, func() error {
		var k string
		if err := rows.Scan(&k); err != nil {
			return err
		}
		keys = append(keys, k)
		return nil
	})
	return run, outputs, keys, true, err
}

// metricHistory reads a run's points of a key in logging order, in tx.
func (s *Store) metricHistory(ctx context.Context, tx *sql.Tx, runID, key string) ([]store.Metric, error) {
	rows, err := tx.QueryContext(ctx, "SELECT value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY rowid", runID, key)
	if err != nil {
		return nil, err
	}
	var out []store.Metric
	err = eachRow(rows, func() error {
		var value float64
		var ts, step int64
		var isNaN bool
		if err := rows.Scan(&value, &ts, &step, &isNaN); err != nil {
			return err
		}
		out = append(out, store.Metric{Key: key, Value: unsanitize(value, isNaN), Timestamp: ts, Step: step})
		return nil
	})
	return out, err
}

// ImportRun implements store.Importer: the runs row (source_type UNKNOWN
// and empty source columns, as create_run writes them), tags, params,
// dataset inputs, outputs, and every metric point with latest_metrics,
// in one transaction.
func (s *Store) ImportRun(ctx context.Context, r store.ImportRun, metrics store.MetricChunks, opts store.ImportOptions) (store.ImportResult, error) {
	if err := s.enterWrite(ctx, store.ValidateImportRun(r)); err != nil {
		return store.ImportResult{}, err
	}
	defer s.leave()
	runID := r.Info.RunID
	var expID int64
	if r.Info.ExperimentID != "" {
		n, err := parseExperimentID(r.Info.ExperimentID)
		if err != nil {
			return store.ImportResult{}, err
		}
		expID = n
	} else if !opts.DryRun {
		return store.ImportResult{}, store.Invalidf("run %s: no experiment", runID)
	}
	if len(r.Outputs) > 0 && !s.features.loggedModels {
		return store.ImportResult{}, store.InvalidStatef("run %s has model outputs, which the MLflow %s schema of %s cannot hold (MLflow 3 only)", runID, s.version, s.path)
	}
	res := store.ImportResult{ID: runID}
	body := func(tx *sql.Tx) error {
		have, outputs, keys, ok, err := s.readRun(ctx, tx, runID)
		if err != nil {
			return err
		}
		if ok {
			res.ArtifactLocation = have.Info.ArtifactURI
			if d := store.DiffRun(have, outputs, r); d != "" {
				return store.Conflictf("run %s already exists in the destination with other content: %s", runID, d)
			}
			check := store.HistoryCheck{
				Stored:     readBack,
				Dedup:      true,
				StoredKeys: keys,
				Load:       func(key string) ([]store.Metric, error) { return s.metricHistory(ctx, tx, runID, key) },
			}
			for chunk, err := range metrics {
				if err == nil {
					err = check.Add(chunk)
				}
				if err != nil {
					return err
				}
			}
			if d := check.Diff(); d != "" {
				return store.Conflictf("run %s already exists in the destination with other content: %s", runID, d)
			}
			return nil
		}
		res.Created = true
		var order store.KeyOrder
		if opts.DryRun {
			for chunk, err := range metrics {
				if err == nil {
					err = order.Check(chunk)
				}
				if err != nil {
					return err
				}
			}
			return nil
		}
		var location sql.NullString
		err = tx.QueryRowContext(ctx, "SELECT artifact_location FROM experiments WHERE experiment_id = ?", expID).Scan(&location)
		if err == sql.ErrNoRows {
			return store.NotFoundf("Could not import run %s into experiment %d: no such experiment", runID, expID)
		}
		if err != nil {
			return err
		}
		uri, err := mlflowuri.AppendPath(location.String, runID, artifactsFolder)
		if err != nil {
			return store.Corruptf("table experiments: experiment %d has artifact location %q: %v", expID, location.String, err)
		}
		in := r.Info
		var end, deleted any
		if in.EndTime != nil {
			end = *in.EndTime
		}
		if in.DeletedTime != nil && in.LifecycleStage == store.LifecycleDeleted {
			deleted = *in.DeletedTime
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "+
			"start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time) "+
			"VALUES (?, ?, ?, '', '', ?, ?, ?, ?, '', ?, ?, ?, ?)",
			runID, in.RunName, sourceTypeUnknown, in.UserID, in.Status.String(), in.StartTime, end, in.LifecycleStage, uri, expID, deleted)
		if isConstraint(err) {
			return store.Conflictf("run %s: a run with that id appeared meanwhile", runID)
		}
		if err != nil {
			return err
		}
		res.ArtifactLocation = uri
		for _, t := range r.Tags {
			if _, err := tx.ExecContext(ctx, "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", t.Key, t.Value, runID); err != nil {
				return err
			}
		}
		params := make([]any, 0, 3*len(r.Params))
		for _, p := range r.Params {
			params = append(params, p.Key, p.Value, runID)
		}
		if err := s.insertRows(ctx, tx, "INSERT INTO params (key, value, run_uuid) VALUES ", "(?, ?, ?)", "", 3, params); err != nil {
			return err
		}
		if err := s.logInputs(ctx, tx, runID, expID, r.Inputs); err != nil {
			return err
		}
		if err := s.logOutputs(ctx, tx, runID, r.Outputs); err != nil {
			return err
		}
		var rows []row
		for chunk, err := range metrics {
			if err == nil {
				err = order.Check(chunk)
			}
			if err != nil {
				return err
			}
			rows = rows[:0]
			for _, m := range chunk {
				v, isNaN := sanitize(m.Value)
				rows = append(rows, row{key: m.Key, value: v, timestamp: m.Timestamp, step: m.Step, isNaN: isNaN})
			}
			if err := s.logMetrics(ctx, tx, runID, rows); err != nil {
				return err
			}
		}
		return nil
	}
	err := s.importTx(ctx, "import run", opts, streamOnce(runID, body))
	return res, err
}

// ImportLoggedModel implements store.Importer, with the rows MLflow's
// create_logged_model, log params/tags and _log_model_metrics write (the
// metric runs must be in this store).
func (s *Store) ImportLoggedModel(ctx context.Context, m *store.LoggedModel, opts store.ImportOptions) (store.ImportResult, error) {
	if err := s.enterLM(ctx, true, store.ValidateImportLoggedModel(m)); err != nil {
		return store.ImportResult{}, err
	}
	defer s.leave()
	var expID int64
	if m.ExperimentID != "" || !opts.DryRun {
		n, err := parseExperimentID(m.ExperimentID)
		if err != nil {
			return store.ImportResult{}, err
		}
		expID = n
	}
	res := store.ImportResult{ID: m.ModelID}
	err := s.importTx(ctx, "import logged model", opts, func(tx *sql.Tx) error {
		res.Created = false
		var stage sql.NullString
		var location string
		err := tx.QueryRowContext(ctx, "SELECT lifecycle_stage, artifact_location FROM logged_models WHERE model_id = ?", m.ModelID).Scan(&stage, &location)
		switch {
		case err == nil:
			res.ArtifactLocation = location
			if stage.String == store.LifecycleDeleted {
				return store.Conflictf("logged model %s exists in the destination, deleted", m.ModelID)
			}
			have, err := s.readLoggedModel(ctx, tx, m.ModelID)
			if err != nil {
				return err
			}
			want := *m
			want.Metrics = sqlModelMetrics(m.Metrics)
			if d := store.DiffLoggedModel(have, &want); d != "" {
				return store.Conflictf("logged model %s already exists in the destination with other content: %s", m.ModelID, d)
			}
			return nil
		case err != sql.ErrNoRows:
			return err
		}
		res.Created = true
		if opts.DryRun {
			return nil
		}
		for _, run := range slices.Compact(slices.Sorted(func(yield func(string) bool) {
			for _, x := range m.Metrics {
				if !yield(x.RunID) {
					return
				}
			}
		})) {
			if _, err := s.runState(ctx, tx, run); err != nil {
				return fmt.Errorf("logged model %s has metrics of run %s, which is not in the destination: %w", m.ModelID, run, err)
			}
		}
		exp, ok, err := s.getExperiment(ctx, tx, expID)
		if err != nil {
			return err
		}
		if !ok {
			return store.NotFoundf("Could not import logged model %s into experiment %d: no such experiment", m.ModelID, expID)
		}
		location, err = mlflowuri.AppendPath(exp.ArtifactLocation, modelsFolder, m.ModelID, artifactsFolder)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, "+
			"last_updated_timestamp_ms, status, lifecycle_stage, model_type, source_run_id, status_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			m.ModelID, expID, m.Name, location, m.CreationTimestamp, m.LastUpdatedTimestamp, int64(m.Status), store.LifecycleActive,
			nullString(m.ModelType), nullString(m.SourceRunID), nullString(m.StatusMessage))
		if err != nil {
			return err
		}
		res.ArtifactLocation = location
		params, tags := make([]kv, 0, len(m.Params)), make([]kv, 0, len(m.Tags))
		for _, k := range slices.Sorted(maps.Keys(m.Params)) {
			params = append(params, kv{k, m.Params[k]})
		}
		for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
			tags = append(tags, kv{k, m.Tags[k]})
		}
		if err := insertModelKVs(ctx, tx, "logged_model_params", "param_key, param_value", m.ModelID, expID, params); err != nil {
			return err
		}
		if err := insertModelKVs(ctx, tx, "logged_model_tags", "tag_key, tag_value", m.ModelID, expID, tags); err != nil {
			return err
		}
		for _, x := range m.Metrics {
			r, err := s.runState(ctx, tx, x.RunID)
			if err != nil {
				return err
			}
			if err := s.insertModelMetric(ctx, tx, m.ModelID, r.experimentID, x); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// sqlModelMetrics returns what this store reads back of a model's metric
// points: the stored values, each point once.
func sqlModelMetrics(points []store.LoggedModelMetric) []store.LoggedModelMetric {
	var out []store.LoggedModelMetric
	seen := map[store.LoggedModelMetric]bool{}
	for _, p := range points {
		p.Value, _ = sanitize(p.Value)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// ImportRegisteredModel implements store.Importer.
func (s *Store) ImportRegisteredModel(ctx context.Context, m *store.RegisteredModel, opts store.ImportOptions) (store.ImportResult, error) {
	if err := s.enterWrite(ctx, store.ValidateImportRegisteredModel(m)); err != nil {
		return store.ImportResult{}, err
	}
	defer s.leave()
	res := store.ImportResult{ID: m.Name}
	err := s.importTx(ctx, "import registered model", opts, func(tx *sql.Tx) error {
		have, _, err := s.getModel(ctx, tx, m.Name)
		if err == nil {
			res.Created = false
			if d := store.DiffRegisteredModel(have, m); d != "" {
				return store.Conflictf("registered model %q already exists in the destination with other content: %s", m.Name, d)
			}
			return nil
		}
		if !isNotFound(err) {
			return err
		}
		res.Created = true
		if opts.DryRun {
			return nil
		}
		if err := s.regInsert(ctx, tx, "registered_models", []string{"name", "creation_time", "last_updated_time", "description"},
			[]any{m.Name, m.CreationTimestamp, m.LastUpdatedTimestamp, nullString(m.Description)}); err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
			if err := s.regInsert(ctx, tx, "registered_model_tags", []string{`"key"`, "value", "name"}, []any{k, m.Tags[k], m.Name}); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// ImportModelVersion implements store.Importer. The schema has no
// model_id column (MLflow's SQL registry reads versions without one), so
// a version's ModelID is not kept.
func (s *Store) ImportModelVersion(ctx context.Context, v *store.ModelVersion, opts store.ImportOptions) (store.ImportResult, error) {
	if err := s.enterWrite(ctx, store.ValidateImportModelVersion(v)); err != nil {
		return store.ImportResult{}, err
	}
	defer s.leave()
	id := v.Name + "/" + strconv.FormatInt(v.Version, 10)
	res := store.ImportResult{ID: id}
	err := s.importTx(ctx, "import model version", opts, func(tx *sql.Tx) error {
		res.Created = false
		if err := s.modelExists(ctx, tx, v.Name); err != nil {
			if isNotFound(err) && opts.DryRun {
				res.Created = true // the model is still to be imported
				return nil
			}
			return err
		}
		var stage sql.NullString
		w, args := s.where("name = ? AND version = ?", v.Name, v.Version)
		err := tx.QueryRowContext(ctx, "SELECT current_stage FROM model_versions"+w, args...).Scan(&stage)
		want := *v
		want.ModelID = ""
		switch {
		case err == nil:
			if stage.String == store.StageDeletedInternal {
				return store.Conflictf("model version %s exists in the destination, deleted", id)
			}
			have, err := s.getVersion(ctx, tx, v.Name, v.Version)
			if err != nil {
				return err
			}
			if d := store.DiffModelVersion(have, &want); d != "" {
				return store.Conflictf("model version %s already exists in the destination with other content: %s", id, d)
			}
			return nil
		case err != sql.ErrNoRows:
			return err
		}
		for _, a := range v.Aliases {
			var other int64
			w, args := s.where("name = ? AND alias = ?", v.Name, a)
			err := tx.QueryRowContext(ctx, "SELECT version FROM registered_model_aliases"+w, args...).Scan(&other)
			if err == nil && other != v.Version {
				return store.Conflictf("model version %s: alias %q points at version %d in the destination", id, a, other)
			}
			if err != nil && err != sql.ErrNoRows {
				return err
			}
		}
		res.Created = true
		if opts.DryRun {
			return nil
		}
		err = s.regInsert(ctx, tx, "model_versions",
			[]string{"name", "version", "creation_time", "last_updated_time", "description", "user_id",
				"current_stage", "source", "run_id", "status", "status_message", "run_link", "storage_location"},
			[]any{v.Name, v.Version, v.CreationTimestamp, v.LastUpdatedTimestamp, nullString(v.Description), nullString(v.UserID),
				v.CurrentStage, v.Source, nullString(v.RunID), cmp.Or(v.Status, store.ModelVersionReady), nullString(v.StatusMessage),
				nullString(v.RunLink), nullString(v.StorageLocation)})
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(v.Tags)) {
			if err := s.regInsert(ctx, tx, "model_version_tags", []string{`"key"`, "value", "name", "version"},
				[]any{k, v.Tags[k], v.Name, v.Version}); err != nil {
				return err
			}
		}
		for _, a := range slices.Sorted(slices.Values(v.Aliases)) {
			var n int
			w, args := s.where("name = ? AND alias = ?", v.Name, a)
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM registered_model_aliases"+w, args...).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if err := s.regInsert(ctx, tx, "registered_model_aliases", []string{"alias", "version", "name"}, []any{a, v.Version, v.Name}); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// ---- gc (store.Purger) ----

// runChildTables are the tables MLflow's _hard_delete_run empties for a
// run (_RUN_DELETE_CASCADE_MODELS); logged-model metrics of the run go by
// their foreign key's ON DELETE CASCADE.
var runChildTables = []string{"metrics", "latest_metrics", "params", "tags"}

// PurgeRun implements store.Purger, as MLflow's _hard_delete_run.
func (s *Store) PurgeRun(ctx context.Context, runID string) error {
	if err := s.enterWrite(ctx, store.ValidateRunID(runID)); err != nil {
		return err
	}
	defer s.leave()
	return s.write(ctx, "purge run", func(tx *sql.Tx) error {
		r, err := s.runState(ctx, tx, runID)
		if err != nil {
			return err
		}
		if r.stage != store.LifecycleDeleted {
			return store.InvalidStatef("Run %s is not in `deleted` lifecycle stage. Only runs in `deleted` lifecycle stage can be deleted.", runID)
		}
		return s.deleteRuns(ctx, tx, "run_uuid = ?", runID)
	})
}

// deleteRuns removes the runs matching cond with their child rows.
func (s *Store) deleteRuns(ctx context.Context, tx *sql.Tx, cond string, arg any) error {
	for _, t := range runChildTables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE run_uuid IN (SELECT run_uuid FROM runs WHERE "+cond+")", arg); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, "DELETE FROM runs WHERE "+cond, arg)
	return err
}

// PurgeExperiment implements store.Purger, as MLflow's
// _hard_delete_experiment (whose ORM cascade takes the experiment's runs,
// tags and logged models; datasets go by their foreign key).
func (s *Store) PurgeExperiment(ctx context.Context, id string) error {
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.leave()
	n, err := parseExperimentID(id)
	if err != nil {
		return err
	}
	return s.write(ctx, "purge experiment", func(tx *sql.Tx) error {
		stage, err := experimentStage(ctx, tx, n, id)
		if err != nil {
			return err
		}
		if stage != store.LifecycleDeleted {
			return store.InvalidStatef("Experiment %s is not in the deleted lifecycle stage. Only experiments in the deleted lifecycle stage can be hard-deleted.", id)
		}
		if err := s.deleteRuns(ctx, tx, "experiment_id = ?", n); err != nil {
			return err
		}
		if s.features.loggedModels {
			for _, t := range []string{"logged_model_metrics", "logged_model_params", "logged_model_tags", "logged_models"} {
				if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE experiment_id = ?", n); err != nil {
					return err
				}
			}
		}
		for _, t := range []string{"experiment_tags", "datasets", "experiments"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE experiment_id = ?", n); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListDeletedLoggedModels implements store.Purger.
func (s *Store) ListDeletedLoggedModels(ctx context.Context) ([]*store.LoggedModel, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	if !s.features.loggedModels {
		return nil, nil
	}
	var out []*store.LoggedModel
	err := s.read(ctx, "list deleted logged models", func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, "SELECT "+lmColumns+" FROM logged_models WHERE lifecycle_stage = 'deleted' ORDER BY model_id")
		if err != nil {
			return err
		}
		return eachRow(rows, func() error {
			m, err := scanLoggedModel(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	return out, err
}

// PurgeLoggedModel implements store.Purger, as MLflow's
// _hard_delete_logged_model.
func (s *Store) PurgeLoggedModel(ctx context.Context, modelID string) error {
	if err := s.enterLM(ctx, true, store.ValidateLoggedModelID(modelID)); err != nil {
		return err
	}
	defer s.leave()
	return s.write(ctx, "purge logged model", func(tx *sql.Tx) error {
		var stage sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT lifecycle_stage FROM logged_models WHERE model_id = ?", modelID).Scan(&stage)
		if err == sql.ErrNoRows {
			return loggedModelNotFound(modelID)
		}
		if err != nil {
			return err
		}
		if stage.String != store.LifecycleDeleted {
			return store.InvalidStatef("Logged model %s is not in `deleted` lifecycle stage. Only logged models in `deleted` lifecycle stage can be deleted.", modelID)
		}
		for _, t := range []string{"logged_model_metrics", "logged_model_params", "logged_model_tags", "logged_models"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE model_id = ?", modelID); err != nil {
				return err
			}
		}
		return nil
	})
}
