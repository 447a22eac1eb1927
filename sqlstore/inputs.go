package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// Values of the inputs table's type columns for a dataset used by a run.
const (
	inputSourceDataset = "DATASET"
	inputDestRun       = "RUN"
)

// LogInputs records datasets used by an active run, as MLflow's
// _log_inputs_impl does: inputs with the same (name, digest) are merged,
// the first one winning; a dataset already recorded in the run's
// experiment with that name and digest is reused as it is (its source,
// schema and profile are not updated), any other gets a new row with a
// uuid4 hex dataset_uuid; a dataset already linked to the run is skipped
// (with its input tags), any other gets an inputs row DATASET -> RUN with a
// new input_uuid and its input tags. Everything happens in one
// transaction. (MLflow 2.22.5 looks existing datasets up in every
// experiment; mlrun keeps to the run's experiment, as MLflow 3 does, for
// both schema versions.)
func (s *Store) LogInputs(ctx context.Context, runID string, inputs []store.DatasetInput) error {
	if err := s.enterWrite(ctx, store.ValidateLogInputs(runID, inputs)); err != nil {
		return err
	}
	defer s.leave()
	if !s.features.inputs {
		return s.missingFeature("dataset inputs (tables datasets, inputs, input_tags)", "2.4.0")
	}
	return s.write(ctx, "log inputs", func(tx *sql.Tx) error {
		run, err := s.activeRun(ctx, tx, runID)
		if err != nil {
			return err
		}
		return s.logInputs(ctx, tx, runID, run.experimentID, inputs)
	})
}

// logInputs does LogInputs' writes for a run of experiment expID, in tx.
func (s *Store) logInputs(ctx context.Context, tx *sql.Tx, runID string, expID int64, inputs []store.DatasetInput) error {
	type nameDigest struct{ name, digest string }
	var uniq []store.DatasetInput
	seen := map[nameDigest]bool{}
	for _, in := range inputs {
		k := nameDigest{in.Dataset.Name, in.Dataset.Digest}
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, in)
		}
	}
	for _, in := range uniq {
		d := in.Dataset
		var datasetUUID string
		err := tx.QueryRowContext(ctx, "SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?",
			expID, d.Name, d.Digest).Scan(&datasetUUID)
		switch {
		case err == sql.ErrNoRows:
			datasetUUID = s.newUUID()
			_, err = tx.ExecContext(ctx, "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, "+
				"dataset_source, dataset_schema, dataset_profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				datasetUUID, expID, d.Name, d.Digest, d.SourceType, d.Source, nullString(d.Schema), nullString(d.Profile))
			if err != nil {
				return err
			}
		case err != nil:
			return err
		}
		var n int
		err = tx.QueryRowContext(ctx, "SELECT count(*) FROM inputs WHERE source_type = ? AND source_id = ? AND destination_type = ? AND destination_id = ?",
			inputSourceDataset, datasetUUID, inputDestRun, runID).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		inputUUID := s.newUUID()
		_, err = tx.ExecContext(ctx, "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) VALUES (?, ?, ?, ?, ?)",
			inputUUID, inputSourceDataset, datasetUUID, inputDestRun, runID)
		if err != nil {
			return err
		}
		for _, t := range dedupeTags(in.Tags) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO input_tags (input_uuid, name, value) VALUES (?, ?, ?)", inputUUID, t.Key, t.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadInputs fills in the dataset inputs of runs (by id; ids lists them as
// arguments), as _get_run_inputs reads them: every inputs row with
// destination RUN joined to its dataset, with its input tags. Inputs are
// sorted by dataset name and digest, input tags by key.
func (s *Store) loadInputs(ctx context.Context, tx *sql.Tx, byID map[string]*store.Run, ids []any) error {
	if !s.features.inputs {
		return nil // a schema without inputs: no run has any
	}
	type pending struct {
		run *store.Run
		in  store.DatasetInput
	}
	byInput := map[string]*pending{}
	var order []string
	err := inChunks(ids, func(chunk []any) error {
		rows, err := tx.QueryContext(ctx, "SELECT i.destination_id, i.input_uuid, d.name, d.digest, d.dataset_source_type, "+
			"d.dataset_source, d.dataset_schema, d.dataset_profile FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "+
			"WHERE i.destination_type = '"+inputDestRun+"' AND i.destination_id IN ("+placeholders(len(chunk))+")", chunk...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var runID, inputUUID string
			var d store.Dataset
			var schema, profile sql.NullString
			if err := rows.Scan(&runID, &inputUUID, &d.Name, &d.Digest, &d.SourceType, &d.Source, &schema, &profile); err != nil {
				return err
			}
			d.Schema, d.Profile = schema.String, profile.String
			if r := byID[runID]; r != nil {
				byInput[inputUUID] = &pending{run: r, in: store.DatasetInput{Dataset: d}}
				order = append(order, inputUUID)
			}
		}
		return rows.Err()
	})
	if err != nil || len(order) == 0 {
		return err
	}
	inputIDs := make([]any, len(order))
	for i, id := range order {
		inputIDs[i] = id
	}
	err = inChunks(inputIDs, func(chunk []any) error {
		rows, err := tx.QueryContext(ctx, "SELECT input_uuid, name, value FROM input_tags WHERE input_uuid IN ("+placeholders(len(chunk))+")", chunk...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, name, value string
			if err := rows.Scan(&id, &name, &value); err != nil {
				return err
			}
			if p := byInput[id]; p != nil {
				p.in.Tags = append(p.in.Tags, store.Tag{Key: name, Value: value})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, id := range order {
		p := byInput[id]
		slices.SortFunc(p.in.Tags, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
		p.run.Inputs = append(p.run.Inputs, p.in)
	}
	for _, r := range byID {
		slices.SortFunc(r.Inputs, func(a, b store.DatasetInput) int {
			if c := strings.Compare(a.Dataset.Name, b.Dataset.Name); c != 0 {
				return c
			}
			return strings.Compare(a.Dataset.Digest, b.Dataset.Digest)
		})
	}
	return nil
}
