package sqlstore

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/mlrun-go/mlrun/internal/pystr"

	"github.com/mlrun-go/mlrun/internal/mlflowuri"
	"github.com/mlrun-go/mlrun/store"
)

// This file is MLflow 3's LoggedModels (store.LoggedModels) in the tables
// of MLflow 3.17.2's SqlAlchemyStore (create_logged_model,
// finalize_logged_model, log_outputs, _log_model_metrics, ...):
//
//	logged_models          model_id m-<uuid4 hex>, experiment_id,
//	                       name, artifact_location <experiment
//	                       location>/models/<id>/artifacts, timestamps
//	                       (ms), status (int: PENDING 1, READY 2, FAILED 3),
//	                       lifecycle_stage 'active'/'deleted', model_type,
//	                       source_run_id, status_message (NULL when empty)
//	logged_model_params    (model_id, experiment_id, param_key, param_value)
//	logged_model_tags      (model_id, experiment_id, tag_key, tag_value)
//	logged_model_metrics   one row per point: the value sanitized as for
//	                       runs (NaN 0, ±Inf ±1.7976931348623157e308), the
//	                       run it was logged in and that run's experiment
//	inputs                 a run output: RUN_OUTPUT run -> MODEL_OUTPUT
//	                       model, with the step
//
// The semantics are MLflow's SQL store's (search.SQLLoggedModels): a model
// reads back every metric point stored, in logging order; a param key
// logged again fails (it is the table's primary key) where the file store
// overwrites it; searches are translated to SQL (loggedmodelsearch.go).
//
// Where mlrun differs it is stricter, as the store.LoggedModels contract
// has it: a deleted model is not found by every method (MLflow's SQL store
// still finalizes, tags, deletes and logs metrics or params to it);
// LogLoggedModelMetrics needs an active run and an existing model, checked
// up front; and linking a model the run already has as an output is a
// no-op (MLflow fails on the inputs primary key).
//
// Schemas without the logged-model tables (MLflow 2.22.5) have no logged
// models: HasLoggedModels reports false and every method fails with
// store.ErrInvalidState.

// Values of the inputs table's type columns for a model a run produced.
const (
	inputSourceRunOutput = "RUN_OUTPUT"
	inputDestModelOutput = "MODEL_OUTPUT"
)

// modelsFolder is the folder of an experiment's logged models
// (SqlAlchemyStore.MODELS_FOLDER_NAME).
const modelsFolder = "models"

var (
	_ store.LoggedModels           = (*Store)(nil)
	_ store.LoggedModelsCapability = (*Store)(nil)
)

// HasLoggedModels reports whether the database's schema has MLflow 3's
// logged-model tables (MLflow ≥ 3.0; not the 2.22.5 schema).
func (s *Store) HasLoggedModels() bool { return s.features.loggedModels }

// enterLM is enter (or enterWrite) for a LoggedModels method: it also fails
// on a schema without logged models, before the request's checks.
func (s *Store) enterLM(ctx context.Context, write bool, checks ...error) error {
	var noModels error
	if !s.features.loggedModels {
		noModels = store.InvalidStatef("sqlstore: the MLflow %s schema of %s has no logged models (MLflow 3 only)", s.version, s.path)
	}
	checks = append([]error{noModels}, checks...)
	if write {
		return s.enterWrite(ctx, checks...)
	}
	return s.enter(ctx, checks...)
}

func loggedModelNotFound(modelID string) error {
	return store.NotFoundf("Logged model with ID '%s' not found.", modelID)
}

// lmColumns are the logged_models columns scanLoggedModel reads, in order.
const lmColumns = "model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, " +
	"status, model_type, source_run_id, status_message"

func scanLoggedModel(row interface{ Scan(...any) error }) (*store.LoggedModel, error) {
	var (
		m                         store.LoggedModel
		expID, status             int64
		typ, source, statusMsg    sql.NullString
		created, updated          int64
		name, location, modelIDCo string
	)
	if err := row.Scan(&modelIDCo, &expID, &name, &location, &created, &updated, &status, &typ, &source, &statusMsg); err != nil {
		return nil, err
	}
	m.ModelID, m.ExperimentID, m.Name, m.ArtifactLocation = modelIDCo, strconv.FormatInt(expID, 10), name, location
	m.CreationTimestamp, m.LastUpdatedTimestamp = created, updated
	m.Status = store.LoggedModelStatus(status)
	if !m.Status.Valid() {
		return nil, store.Corruptf("table logged_models: model %s has status %d", m.ModelID, status)
	}
	m.ModelType, m.SourceRunID, m.StatusMessage = typ.String, source.String, statusMsg.String
	m.Tags, m.Params = map[string]string{}, map[string]string{}
	return &m, nil
}

// liveModel reads a model that is not deleted, or fails with
// store.ErrNotFound. lifecycle_stage != 'deleted' is MLflow's own
// condition (get_logged_model), so a NULL stage is not found either.
func (s *Store) liveModel(ctx context.Context, tx *sql.Tx, modelID string) (*store.LoggedModel, error) {
	if err := store.ValidateLoggedModelID(modelID); err != nil {
		return nil, err
	}
	st, err := s.txStmt(ctx, tx, "SELECT "+lmColumns+" FROM logged_models WHERE model_id = ? AND lifecycle_stage != 'deleted'")
	if err != nil {
		return nil, err
	}
	m, err := scanLoggedModel(st.QueryRowContext(ctx, modelID))
	if err == sql.ErrNoRows {
		return nil, loggedModelNotFound(modelID)
	}
	return m, err
}

// loadModelData fills in the tags, params and metric points of models (by
// id). Points come in rowid order, the order MLflow reads them in (its
// lookup goes through index_logged_model_metrics_model_id).
func (s *Store) loadModelData(ctx context.Context, tx *sql.Tx, models []*store.LoggedModel) error {
	byID := make(map[string]*store.LoggedModel, len(models))
	ids := make([]any, len(models))
	for i, m := range models {
		byID[m.ModelID], ids[i] = m, m.ModelID
	}
	for _, q := range []struct {
		table, cols string
		set         func(m *store.LoggedModel, k, v string)
	}{
		{"logged_model_tags", "tag_key, tag_value", func(m *store.LoggedModel, k, v string) { m.Tags[k] = v }},
		{"logged_model_params", "param_key, param_value", func(m *store.LoggedModel, k, v string) { m.Params[k] = v }},
	} {
		err := inChunks(ids, func(chunk []any) error {
			rows, err := tx.QueryContext(ctx, "SELECT model_id, "+q.cols+" FROM "+q.table+" WHERE model_id IN ("+placeholders(len(chunk))+")", chunk...)
			if err != nil {
				return err
			}
			return eachRow(rows, func() error {
				var id, k, v string
				if err := rows.Scan(&id, &k, &v); err != nil {
					return err
				}
				q.set(byID[id], k, v)
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	return inChunks(ids, func(chunk []any) error {
		rows, err := tx.QueryContext(ctx, "SELECT model_id, metric_name, metric_value, metric_timestamp_ms, metric_step, run_id, "+
			"dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id IN ("+placeholders(len(chunk))+") ORDER BY rowid", chunk...)
		if err != nil {
			return err
		}
		return eachRow(rows, func() error {
			var id string
			var x store.LoggedModelMetric
			var value sql.NullFloat64
			var dsName, dsDigest sql.NullString
			if err := rows.Scan(&id, &x.Key, &value, &x.Timestamp, &x.Step, &x.RunID, &dsName, &dsDigest); err != nil {
				return err
			}
			x.Value, x.DatasetName, x.DatasetDigest = value.Float64, dsName.String, dsDigest.String
			m := byID[id]
			m.Metrics = append(m.Metrics, x)
			return nil
		})
	})
}

// CreateLoggedModel implements store.LoggedModels as MLflow's
// create_logged_model: in an active experiment, status PENDING (1),
// lifecycle_stage active, both timestamps now, model_type and
// source_run_id NULL when empty, a generated name when Name is empty, and
// its params and tags. A key given twice is store.ErrInvalidParameter
// (MLflow: the tables' primary keys).
func (s *Store) CreateLoggedModel(ctx context.Context, req store.CreateLoggedModelRequest) (*store.LoggedModel, error) {
	expID, n, idErr := experimentOrDefault(req.ExperimentID)
	if err := s.enterLM(ctx, true, idErr, validateCreateLoggedModel(req)); err != nil {
		return nil, err
	}
	defer s.leave()
	var out *store.LoggedModel
	err := s.write(ctx, "create logged model", func(tx *sql.Tx) error {
		exp, ok, err := s.getExperiment(ctx, tx, n)
		if err != nil {
			return err
		}
		if !ok {
			return experimentNotFound(expID)
		}
		if exp.LifecycleStage != store.LifecycleActive {
			return store.InvalidStatef("The experiment %s must be in the 'active' state. Current state is %s.", expID, exp.LifecycleStage)
		}
		id := "m-" + s.newUUID()
		location, err := mlflowuri.AppendPath(exp.ArtifactLocation, modelsFolder, id, artifactsFolder)
		if err != nil {
			return err
		}
		name := req.Name
		if name == "" {
			name = store.RandomRunName()
		}
		now := s.now()
		_, err = tx.ExecContext(ctx, "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, "+
			"last_updated_timestamp_ms, status, lifecycle_stage, model_type, source_run_id, status_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
			id, n, name, location, now, now, int64(store.LoggedModelPending), store.LifecycleActive, nullString(req.ModelType), nullString(req.SourceRunID))
		if err != nil {
			return err
		}
		if err := insertModelKVs(ctx, tx, "logged_model_params", "param_key, param_value", id, n, paramKVs(req.Params)); err != nil {
			return err
		}
		if err := insertModelKVs(ctx, tx, "logged_model_tags", "tag_key, tag_value", id, n, tagKVs(req.Tags)); err != nil {
			return err
		}
		out, err = s.readLoggedModel(ctx, tx, id)
		return err
	})
	return out, err
}

// validateCreateLoggedModel is store.ValidateCreateLoggedModel, and no
// param or tag key given twice (MLflow's SQL store: the tables' primary
// keys).
func validateCreateLoggedModel(req store.CreateLoggedModelRequest) error {
	if err := store.ValidateCreateLoggedModel(req); err != nil {
		return err
	}
	if err := uniqueKeys(paramKVs(req.Params), "parameter"); err != nil {
		return err
	}
	return uniqueKeys(tagKVs(req.Tags), "tag")
}

// validateModelParams checks the params of LogLoggedModelParams, a key
// given twice included.
func validateModelParams(params []store.Param) error {
	if err := store.ValidateParams(params); err != nil {
		return err
	}
	return uniqueKeys(paramKVs(params), "parameter")
}

// uniqueKeys fails on a key given twice (MLflow: the table's primary key).
func uniqueKeys(kvs []kv, what string) error {
	seen := map[string]bool{}
	for _, x := range kvs {
		if seen[x.k] {
			return store.Invalidf("Duplicate %s key '%s': a logged model %s is set once per call.", what, x.k, what)
		}
		seen[x.k] = true
	}
	return nil
}

// kv is a key and value of a logged model param or tag.
type kv struct{ k, v string }

func paramKVs(ps []store.Param) []kv {
	out := make([]kv, len(ps))
	for i, p := range ps {
		out[i] = kv{p.Key, p.Value}
	}
	return out
}

func tagKVs(ts []store.Tag) []kv {
	out := make([]kv, len(ts))
	for i, t := range ts {
		out[i] = kv{t.Key, t.Value}
	}
	return out
}

// insertModelKVs inserts params or tags of a model. A key the model already
// has is store.ErrInvalidParameter, as MLflow's insert fails on the
// primary key.
func insertModelKVs(ctx context.Context, tx *sql.Tx, table, cols, modelID string, expID int64, kvs []kv) error {
	for _, x := range kvs {
		_, err := tx.ExecContext(ctx, "INSERT INTO "+table+" (model_id, experiment_id, "+cols+") VALUES (?, ?, ?, ?)", modelID, expID, x.k, x.v)
		if isConstraint(err) {
			return store.Invalidf("Key '%s' was already logged for model with ID '%s' (MLflow's SQL store does not overwrite it).", x.k, modelID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readLoggedModel reads a live model with its tags, params and metrics.
func (s *Store) readLoggedModel(ctx context.Context, tx *sql.Tx, modelID string) (*store.LoggedModel, error) {
	m, err := s.liveModel(ctx, tx, modelID)
	if err != nil {
		return nil, err
	}
	return m, s.loadModelData(ctx, tx, []*store.LoggedModel{m})
}

// GetLoggedModel implements store.LoggedModels: a model that is not
// deleted, with its tags, params and every metric point.
func (s *Store) GetLoggedModel(ctx context.Context, modelID string) (*store.LoggedModel, error) {
	if err := s.enterLM(ctx, false); err != nil {
		return nil, err
	}
	defer s.leave()
	var out *store.LoggedModel
	err := s.read(ctx, "get logged model", func(tx *sql.Tx) error {
		var err error
		out, err = s.readLoggedModel(ctx, tx, modelID)
		return err
	})
	return out, err
}

// updateModel runs fn on a live model in a write transaction, after the
// write gate and the request's checks (evaluated by the caller; the first
// that failed is returned, with nothing written).
func (s *Store) updateModel(ctx context.Context, op, modelID string, checks []error, fn func(tx *sql.Tx, m *store.LoggedModel) error) error {
	if err := s.enterLM(ctx, true, checks...); err != nil {
		return err
	}
	defer s.leave()
	return s.write(ctx, op, func(tx *sql.Tx) error {
		m, err := s.liveModel(ctx, tx, modelID)
		if err != nil {
			return err
		}
		return fn(tx, m)
	})
}

// FinalizeLoggedModel implements store.LoggedModels: status (as its
// integer) and last_updated_timestamp_ms = now.
func (s *Store) FinalizeLoggedModel(ctx context.Context, modelID string, status store.LoggedModelStatus) (*store.LoggedModel, error) {
	var out *store.LoggedModel
	err := s.updateModel(ctx, "finalize logged model", modelID, []error{store.ValidateLoggedModelStatus(status)}, func(tx *sql.Tx, _ *store.LoggedModel) error {
		_, err := tx.ExecContext(ctx, "UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE model_id = ?", int64(status), s.now(), modelID)
		if err == nil {
			out, err = s.readLoggedModel(ctx, tx, modelID)
		}
		return err
	})
	return out, err
}

// DeleteLoggedModel implements store.LoggedModels: lifecycle_stage
// deleted and last_updated_timestamp_ms = now; the rows stay (mlflow gc
// removes them).
func (s *Store) DeleteLoggedModel(ctx context.Context, modelID string) error {
	return s.updateModel(ctx, "delete logged model", modelID, nil, func(tx *sql.Tx, _ *store.LoggedModel) error {
		_, err := tx.ExecContext(ctx, "UPDATE logged_models SET lifecycle_stage = ?, last_updated_timestamp_ms = ? WHERE model_id = ?",
			store.LifecycleDeleted, s.now(), modelID)
		return err
	})
}

// SetLoggedModelTags implements store.LoggedModels: upserts, the last value
// of a repeated key winning, as set_logged_model_tags.
func (s *Store) SetLoggedModelTags(ctx context.Context, modelID string, tags []store.Tag) error {
	return s.updateModel(ctx, "set logged model tags", modelID, []error{store.ValidateTags(tags)}, func(tx *sql.Tx, m *store.LoggedModel) error {
		expID, _ := strconv.ParseInt(m.ExperimentID, 10, 64)
		for _, t := range dedupeTags(tags) {
			_, err := tx.ExecContext(ctx, "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) VALUES (?, ?, ?, ?) "+
				"ON CONFLICT (model_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value", modelID, expID, t.Key, t.Value)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteLoggedModelTag implements store.LoggedModels.
func (s *Store) DeleteLoggedModelTag(ctx context.Context, modelID, key string) error {
	return s.updateModel(ctx, "delete logged model tag", modelID, []error{store.ValidateTag(store.Tag{Key: key})}, func(tx *sql.Tx, _ *store.LoggedModel) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM logged_model_tags WHERE model_id = ? AND tag_key = ?", modelID, key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		return store.NotFoundf("No tag with key %s found for model with ID %s.", pystr.Repr(key), pystr.Repr(modelID))
	})
}

// LogLoggedModelParams implements store.LoggedModels as
// log_logged_model_params: a key the model already has (or one given
// twice) is store.ErrInvalidParameter, nothing being written.
func (s *Store) LogLoggedModelParams(ctx context.Context, modelID string, params []store.Param) error {
	return s.updateModel(ctx, "log logged model params", modelID, []error{validateModelParams(params)}, func(tx *sql.Tx, m *store.LoggedModel) error {
		expID, _ := strconv.ParseInt(m.ExperimentID, 10, 64)
		return insertModelKVs(ctx, tx, "logged_model_params", "param_key, param_value", modelID, expID, paramKVs(params))
	})
}

// LogLoggedModelMetrics implements store.LoggedModels as MLflow's
// _log_model_metrics (log_batch and log_metric with a model_id): one row
// per point with the sanitized value, the run it names and that run's
// experiment, no dataset uuid; a point equal to one stored or given before
// is dropped, as MLflow's dedupe drops it. The runs must be active. All
// points are written in one transaction or none.
//
// The table's primary key is (model, key, timestamp, step, run): it has no
// room for two points of a key at the same timestamp and step of a run with
// different values, which a run's own metrics allow (mlrun's LogModel, like
// MLflow's log_model, copies a run's points at a step to its model). Where
// MLflow's SQL store fails on such a pair (an IntegrityError, after which
// log_model leaves a FAILED model), mlrun keeps the point MLflow's
// latest-metric rule prefers: the larger stored value, or on equal values
// the first logged (with its dataset). MLflow's file store keeps both
// points and reads the same one as the model's metric (see
// store.LoggedModels).
func (s *Store) LogLoggedModelMetrics(ctx context.Context, modelID string, metrics []store.LoggedModelMetric) error {
	return s.updateModel(ctx, "log logged model metrics", modelID, []error{store.ValidateLoggedModelMetrics(metrics)}, func(tx *sql.Tx, _ *store.LoggedModel) error {
		runExp := map[string]int64{}
		for _, m := range metrics {
			exp, ok := runExp[m.RunID]
			if !ok {
				r, err := s.activeRun(ctx, tx, m.RunID)
				if err != nil {
					return err
				}
				exp, runExp[m.RunID] = r.experimentID, r.experimentID
			}
			if err := s.insertModelMetric(ctx, tx, modelID, exp, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertModelMetric inserts one point; where the row its primary key names
// exists, the point replaces it only if its stored value is larger (see
// LogLoggedModelMetrics).
func (s *Store) insertModelMetric(ctx context.Context, tx *sql.Tx, modelID string, expID int64, m store.LoggedModelMetric) error {
	v, _ := sanitize(m.Value)
	_, err := tx.ExecContext(ctx, "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, "+
		"experiment_id, run_id, dataset_uuid, dataset_name, dataset_digest) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) "+
		"ON CONFLICT (model_id, metric_name, metric_timestamp_ms, metric_step, run_id) DO UPDATE SET "+
		"metric_value = excluded.metric_value, dataset_name = excluded.dataset_name, dataset_digest = excluded.dataset_digest "+
		"WHERE excluded.metric_value > logged_model_metrics.metric_value",
		modelID, m.Key, m.Timestamp, m.Step, v, expID, m.RunID, nullString(m.DatasetName), nullString(m.DatasetDigest))
	return err
}

// LogOutputs implements store.LoggedModels as MLflow's log_outputs: one
// inputs row RUN_OUTPUT (the run) -> MODEL_OUTPUT (the model) with a new
// uuid4 hex input_uuid and the step, for an active run. As in MLflow the
// model is not looked up. A model the run already has is skipped (MLflow
// fails on the primary key).
func (s *Store) LogOutputs(ctx context.Context, runID string, outputs []store.LoggedModelOutput) error {
	if err := s.enterLM(ctx, true, store.ValidateOutputs(runID, outputs)); err != nil {
		return err
	}
	defer s.leave()
	return s.write(ctx, "log outputs", func(tx *sql.Tx) error {
		if _, err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		return s.logOutputs(ctx, tx, runID, outputs)
	})
}

// logOutputs does LogOutputs' writes in tx.
func (s *Store) logOutputs(ctx context.Context, tx *sql.Tx, runID string, outputs []store.LoggedModelOutput) error {
	for _, o := range outputs {
		_, err := tx.ExecContext(ctx, "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id, step) "+
			"VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", s.newUUID(), inputSourceRunOutput, runID, inputDestModelOutput, o.ModelID, o.Step)
		if err != nil {
			return err
		}
	}
	return nil
}

// GetRunOutputs implements store.LoggedModels: the run's MODEL_OUTPUT
// inputs rows, sorted by model id.
func (s *Store) GetRunOutputs(ctx context.Context, runID string) ([]store.LoggedModelOutput, error) {
	if err := s.enterLM(ctx, false, store.ValidateRunID(runID)); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []store.LoggedModelOutput
	err := s.read(ctx, "get run outputs", func(tx *sql.Tx) error {
		if _, err := s.runState(ctx, tx, runID); err != nil {
			return err
		}
		var err error
		out, err = s.readOutputs(ctx, tx, runID)
		return err
	})
	return out, err
}

// readOutputs reads a run's MODEL_OUTPUT inputs rows, sorted by model id.
func (s *Store) readOutputs(ctx context.Context, tx *sql.Tx, runID string) ([]store.LoggedModelOutput, error) {
	rows, err := tx.QueryContext(ctx, "SELECT destination_id, step FROM inputs WHERE source_type = ? AND source_id = ? "+
		"AND destination_type = ? ORDER BY destination_id", inputSourceRunOutput, runID, inputDestModelOutput)
	if err != nil {
		return nil, err
	}
	var out []store.LoggedModelOutput
	err = eachRow(rows, func() error {
		var o store.LoggedModelOutput
		if err := rows.Scan(&o.ModelID, &o.Step); err != nil {
			return err
		}
		out = append(out, o)
		return nil
	})
	return out, err
}
