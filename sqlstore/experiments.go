package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/internal/mlflowuri"
	"github.com/mlrun-go/mlrun/store"
)

// parseExperimentID converts an experiment id to the integer MLflow's SQL
// store keys experiments by (_parse_experiment_id).
func parseExperimentID(id string) (int64, error) {
	if err := store.ValidateExperimentID(id); err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, store.Invalidf("Invalid experiment ID '%s'. Experiment ID must be a valid integer.", id)
	}
	return n, nil
}

// experimentOrDefault returns an experiment id ("" meaning the Default
// experiment) and its integer.
func experimentOrDefault(id string) (string, int64, error) {
	id, err := store.ExperimentIDOrDefault(id)
	if err != nil {
		return id, 0, err
	}
	n, err := parseExperimentID(id)
	return id, n, err
}

// experimentColumns are the columns scanExperiment reads, in order.
const experimentColumns = "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time"

// scanExperiment reads a row of experimentColumns. NULL locations, stages
// and times (written by old MLflow versions) read as "" and 0.
func scanExperiment(row interface{ Scan(...any) error }) (*store.Experiment, error) {
	var (
		id                 int64
		name               string
		location, stage    sql.NullString
		created, lastTouch sql.NullInt64
	)
	if err := row.Scan(&id, &name, &location, &stage, &created, &lastTouch); err != nil {
		return nil, err
	}
	return &store.Experiment{
		ID:               strconv.FormatInt(id, 10),
		Name:             name,
		ArtifactLocation: location.String,
		LifecycleStage:   stage.String,
		CreationTime:     created.Int64,
		LastUpdateTime:   lastTouch.Int64,
		Tags:             map[string]string{},
	}, nil
}

// loadExperimentTags fills in the tags of experiments, keyed by id.
func (s *Store) loadExperimentTags(ctx context.Context, tx *sql.Tx, exps map[int64]*store.Experiment) error {
	ids := make([]any, 0, len(exps))
	for id := range exps {
		ids = append(ids, id)
	}
	return inChunks(ids, func(chunk []any) error {
		rows, err := tx.QueryContext(ctx, "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN ("+
			placeholders(len(chunk))+")", chunk...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var key string
			var value sql.NullString
			if err := rows.Scan(&id, &key, &value); err != nil {
				return err
			}
			if e := exps[id]; e != nil {
				e.Tags[key] = value.String
			}
		}
		return rows.Err()
	})
}

// getExperiment reads an experiment and its tags; ok is false if there is
// no such experiment.
func (s *Store) getExperiment(ctx context.Context, tx *sql.Tx, id int64) (*store.Experiment, bool, error) {
	st, err := s.txStmt(ctx, tx, "SELECT "+experimentColumns+" FROM experiments WHERE experiment_id = ?")
	if err != nil {
		return nil, false, err
	}
	e, err := scanExperiment(st.QueryRowContext(ctx, id))
	if err == sql.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return e, true, s.loadExperimentTags(ctx, tx, map[int64]*store.Experiment{id: e})
}

func experimentNotFound(id string) error {
	return store.NotFoundf("No Experiment with id=%s exists", id)
}

// CreateExperiment creates an experiment. Its id is the next SQLite rowid
// (the largest id plus one), as when MLflow inserts it; its default
// artifact location is <artifact root>/<id>, and an explicit one is checked
// and made absolute if it is a relative local path
// (store.ExperimentArtifactLocation, resolve_uri_if_local). A name
// taken by an active or deleted experiment is store.ErrAlreadyExists, also
// when several processes race (the name is UNIQUE in the schema).
func (s *Store) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []store.Tag) (string, error) {
	artifactLocation, check := store.ValidateCreateExperiment(name, artifactLocation, tags)
	if err := s.enterWrite(ctx, check); err != nil {
		return "", err
	}
	defer s.leave()
	if err := s.checkTagLengths("experiment_tags", tags); err != nil {
		return "", err
	}
	var id int64
	err := s.write(ctx, "create experiment", func(tx *sql.Tx) error {
		now := s.now()
		cols := "name, artifact_location, lifecycle_stage, creation_time, last_update_time"
		args := []any{name, nullString(artifactLocation), store.LifecycleActive, now, now}
		if s.features.experimentWorkspace {
			cols += ", workspace"
			args = append(args, defaultWorkspace)
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO experiments ("+cols+") VALUES ("+placeholders(len(args))+")", args...)
		if isCode(err, sqliteConstraintUnique) || isCode(err, sqliteConstraintPK) {
			return store.AlreadyExistsf("Experiment(name=%s) already exists.", name)
		}
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if artifactLocation == "" {
			loc, err := mlflowuri.AppendPath(s.artifactRoot, strconv.FormatInt(id, 10))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?", loc, id); err != nil {
				return err
			}
		}
		for _, t := range dedupeTags(tags) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?, ?, ?)", t.Key, t.Value, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(id, 10), nil
}

// GetExperiment returns an active or deleted experiment.
func (s *Store) GetExperiment(ctx context.Context, id string) (*store.Experiment, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	n, err := parseExperimentID(id)
	if err != nil {
		return nil, err
	}
	var e *store.Experiment
	err = s.read(ctx, "get experiment", func(tx *sql.Tx) error {
		var ok bool
		var err error
		if e, ok, err = s.getExperiment(ctx, tx, n); err == nil && !ok {
			return experimentNotFound(id)
		}
		return err
	})
	return e, err
}

// GetExperimentByName returns the active or deleted experiment with the
// name.
func (s *Store) GetExperimentByName(ctx context.Context, name string) (*store.Experiment, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	var e *store.Experiment
	err := s.read(ctx, "get experiment by name", func(tx *sql.Tx) error {
		q := "SELECT " + experimentColumns + " FROM experiments WHERE name = ?"
		args := []any{name}
		if s.features.experimentWorkspace {
			q += " AND workspace = ?"
			args = append(args, defaultWorkspace)
		}
		var err error
		e, err = scanExperiment(tx.QueryRowContext(ctx, q, args...))
		if err == sql.ErrNoRows {
			return store.NotFoundf("Experiment '%s' does not exist.", name)
		}
		if err != nil {
			return err
		}
		n, _ := strconv.ParseInt(e.ID, 10, 64)
		return s.loadExperimentTags(ctx, tx, map[int64]*store.Experiment{n: e})
	})
	return e, err
}

// RenameExperiment renames an active experiment and sets its
// last_update_time.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := s.enterWrite(ctx, store.ValidateExperimentName(newName)); err != nil {
		return err
	}
	defer s.leave()
	n, err := parseExperimentID(id)
	if err != nil {
		return err
	}
	return s.write(ctx, "rename experiment", func(tx *sql.Tx) error {
		stage, err := experimentStage(ctx, tx, n, id)
		if err != nil {
			return err
		}
		if stage != store.LifecycleActive {
			return store.InvalidStatef("Cannot rename a non-active experiment.")
		}
		_, err = tx.ExecContext(ctx, "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?", newName, s.now(), n)
		if isCode(err, sqliteConstraintUnique) || isCode(err, sqliteConstraintPK) {
			return store.AlreadyExistsf("Experiment(name=%s) already exists.", newName)
		}
		return err
	})
}

// experimentStage returns an experiment's lifecycle stage, or
// store.ErrNotFound.
func experimentStage(ctx context.Context, tx *sql.Tx, n int64, id string) (string, error) {
	var stage sql.NullString
	err := tx.QueryRowContext(ctx, "SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", n).Scan(&stage)
	if err == sql.ErrNoRows {
		return "", experimentNotFound(id)
	}
	return stage.String, err
}

// DeleteExperiment marks an active experiment deleted and, as MLflow's SQL
// store does, every one of its runs: their lifecycle_stage becomes
// "deleted" and deleted_time now (runs already deleted get the new time).
// The Default experiment cannot be deleted (store.ErrInvalidParameter); a
// deleted experiment is store.ErrInvalidState.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	if err := s.enterWrite(ctx, store.ValidateDeleteExperiment(id)); err != nil {
		return err
	}
	defer s.leave()
	n, err := parseExperimentID(id)
	if err != nil {
		return err
	}
	return s.write(ctx, "delete experiment", func(tx *sql.Tx) error {
		stage, err := experimentStage(ctx, tx, n, id)
		if err != nil {
			return err
		}
		if stage == store.LifecycleDeleted {
			return store.InvalidStatef("Experiment %s is already deleted.", id)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
			store.LifecycleDeleted, now, n); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?",
			store.LifecycleDeleted, now, n)
		return err
	})
}

// RestoreExperiment restores a deleted experiment and, as MLflow's SQL store
// does, makes every one of its runs active (deleted_time NULL). Restoring an
// active experiment is store.ErrInvalidState.
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.leave()
	n, err := parseExperimentID(id)
	if err != nil {
		return err
	}
	return s.write(ctx, "restore experiment", func(tx *sql.Tx) error {
		stage, err := experimentStage(ctx, tx, n, id)
		if err != nil {
			return err
		}
		if stage != store.LifecycleDeleted {
			return store.InvalidStatef("Cannot restore an active experiment (%s).", id)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
			store.LifecycleActive, s.now(), n); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE runs SET lifecycle_stage = ?, deleted_time = NULL WHERE experiment_id = ?",
			store.LifecycleActive, n)
		return err
	})
}

// SetExperimentTag sets (or replaces) a tag of an active experiment; a
// deleted experiment is store.ErrInvalidParameter, as in MLflow.
func (s *Store) SetExperimentTag(ctx context.Context, id string, tag store.Tag) error {
	if err := s.enterWrite(ctx, store.ValidateExperimentTag(tag)); err != nil {
		return err
	}
	defer s.leave()
	if err := s.checkTagLengths("experiment_tags", []store.Tag{tag}); err != nil {
		return err
	}
	n, err := parseExperimentID(id)
	if err != nil {
		return err
	}
	return s.write(ctx, "set experiment tag", func(tx *sql.Tx) error {
		stage, err := experimentStage(ctx, tx, n, id)
		if err != nil {
			return err
		}
		if stage != store.LifecycleActive {
			return store.Invalidf("The experiment %s must be in the 'active' state. Current state is %s.", id, stage)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?, ?, ?) "+
			"ON CONFLICT (key, experiment_id) DO UPDATE SET value = excluded.value", tag.Key, tag.Value, n)
		return err
	})
}

// nullString maps "" to NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// placeholders returns "?, ?, ..." with n placeholders.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// maxInArgs bounds the arguments of one IN (...) list, as MLflow does (500).
const maxInArgs = 500

// inChunks calls fn with successive pieces of args of at most maxInArgs.
func inChunks(args []any, fn func(chunk []any) error) error {
	for len(args) > 0 {
		n := min(len(args), maxInArgs)
		if err := fn(args[:n]); err != nil {
			return err
		}
		args = args[n:]
	}
	return nil
}
