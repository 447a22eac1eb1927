package sqlstore_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// rows returns the rows of a query as strings of space-separated columns.
func rows(t *testing.T, s *sqlstore.Store, q string, args ...any) []string {
	t.Helper()
	db := rawDB(t, s.Path())
	r, err := db.Query(q, args...)
	must(t, err)
	defer r.Close()
	cols, err := r.Columns()
	must(t, err)
	var out []string
	for r.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(t, r.Scan(ptrs...))
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				parts[i] = "NULL"
			case []byte:
				parts[i] = string(v)
			default:
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	must(t, r.Err())
	return out
}

func wantRows(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestStoredValues checks the rows LogBatch writes, against what MLflow's
// SqlAlchemyStore writes for the same calls: sanitize_metric_value (NaN as
// 0 with is_nan, ±Inf as ±max float), -0.0 as 0, exact duplicates dropped,
// latest_metrics by (step, timestamp, sanitized value).
func TestStoredValues(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			s := newStore(t, v)
			r := createRun(t, s, "0", "values")
			id := r.Info.RunID
			ms := []store.Metric{
				{Key: "nan", Value: math.NaN(), Timestamp: 5, Step: 1},
				{Key: "inf", Value: math.Inf(1), Timestamp: 5, Step: 1},
				{Key: "ninf", Value: math.Inf(-1), Timestamp: 5, Step: 1},
				{Key: "negzero", Value: math.Copysign(0, -1), Timestamp: 5, Step: 1},
				{Key: "tiny", Value: 1e-05, Timestamp: 5, Step: -7},
				{Key: "dup", Value: 1.5, Timestamp: 5, Step: 1},
				{Key: "dup", Value: 1.5, Timestamp: 5, Step: 1},
				{Key: "dup", Value: 2.5, Timestamp: 5, Step: 1},
				{Key: "nan", Value: math.NaN(), Timestamp: 5, Step: 1}, // same row as the first
			}
			must(t, s.LogBatch(ctx, id, ms, nil, nil))
			must(t, s.LogBatch(ctx, id, ms[5:6], nil, nil)) // already stored
			wantRows(t, "metrics", rows(t, s, "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? ORDER BY key, rowid", id),
				"dup 1.5 5 1 0", "dup 2.5 5 1 0",
				"inf 1.7976931348623157e+308 5 1 0",
				"nan 0 5 1 1",
				"negzero 0 5 1 0",
				"ninf -1.7976931348623157e+308 5 1 0",
				"tiny 1e-05 5 -7 0")
			wantRows(t, "latest_metrics", rows(t, s, "SELECT key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = ? ORDER BY key", id),
				"dup 2.5 5 1 0",
				"inf 1.7976931348623157e+308 5 1 0",
				"nan 0 5 1 1",
				"negzero 0 5 1 0",
				"ninf -1.7976931348623157e+308 5 1 0",
				"tiny 1e-05 5 -7 0")
			h, err := s.GetMetricHistory(ctx, id, "nan")
			must(t, err)
			if len(h) != 1 || !math.IsNaN(h[0].Value) {
				t.Errorf("nan history = %v", h)
			}
			h, err = s.GetMetricHistory(ctx, id, "inf")
			must(t, err)
			if len(h) != 1 || h[0].Value != math.MaxFloat64 {
				t.Errorf("inf history = %v, want max float64 as MLflow reads it", h)
			}
		})
	}
}

// TestLatestMetricRule checks latest_metrics against
// _update_latest_metrics_if_necessary: the greatest (step, timestamp,
// sanitized value), strictly, in logging order, whether the points come in
// one batch or one per call.
func TestLatestMetricRule(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name    string
		history []store.Metric
		want    string // value timestamp step is_nan
	}{
		{"step beats timestamp", []store.Metric{{Value: 1, Timestamp: 10, Step: 2}, {Value: 2, Timestamp: 20, Step: 1}}, "1 10 2 0"},
		{"timestamp beats value", []store.Metric{{Value: 5, Timestamp: 20, Step: 1}, {Value: 9, Timestamp: 10, Step: 1}}, "5 20 1 0"},
		{"value on a tie", []store.Metric{{Value: 1, Timestamp: 10, Step: 1}, {Value: 3, Timestamp: 10, Step: 1}, {Value: 2, Timestamp: 10, Step: 1}}, "3 10 1 0"},
		{"NaN counts as 0: replaced by 1", []store.Metric{{Value: nan, Timestamp: 10, Step: 1}, {Value: 1, Timestamp: 10, Step: 1}}, "1 10 1 0"},
		{"NaN counts as 0: replaces -1", []store.Metric{{Value: -1, Timestamp: 10, Step: 1}, {Value: nan, Timestamp: 10, Step: 1}}, "0 10 1 1"},
		{"NaN counts as 0: does not replace 0", []store.Metric{{Value: 0, Timestamp: 10, Step: 1}, {Value: nan, Timestamp: 10, Step: 1}}, "0 10 1 0"},
		{"0 does not replace NaN", []store.Metric{{Value: nan, Timestamp: 10, Step: 1}, {Value: 0, Timestamp: 10, Step: 1}}, "0 10 1 1"},
		{"Inf ties max float, first stays", []store.Metric{{Value: math.MaxFloat64, Timestamp: 10, Step: 1}, {Value: math.Inf(1), Timestamp: 10, Step: 1}}, "1.7976931348623157e+308 10 1 0"},
		{"negative steps", []store.Metric{{Value: 1, Timestamp: 10, Step: -1}, {Value: 2, Timestamp: 20, Step: -5}}, "1 10 -1 0"},
		{"earlier step later", []store.Metric{{Value: 7, Timestamp: 1, Step: 3}, {Value: 8, Timestamp: 99, Step: 2}, {Value: 9, Timestamp: 0, Step: 3}}, "7 1 3 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, "3.17.2")
			for _, oneByOne := range []bool{false, true} {
				r := createRun(t, s, "0", "")
				h := slices.Clone(tc.history)
				for i := range h {
					h[i].Key = "m"
				}
				if oneByOne {
					for _, m := range h {
						must(t, s.LogBatch(ctx, r.Info.RunID, []store.Metric{m}, nil, nil))
					}
				} else {
					must(t, s.LogBatch(ctx, r.Info.RunID, h, nil, nil))
				}
				got := rows(t, s, "SELECT value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = ?", r.Info.RunID)
				if len(got) != 1 || got[0] != tc.want {
					t.Errorf("one by one %v: latest = %q, want %q", oneByOne, got, tc.want)
				}
			}
		})
	}
}

// TestRunRows checks the runs and tags rows of a run's life cycle against
// what create_run, update_run_info, set_tag, delete_run and restore_run
// write.
func TestRunRows(t *testing.T) {
	s := newStore(t, "2.22.5")
	exp, err := s.CreateExperiment(ctx, "rows", "", []store.Tag{{Key: "k", Value: "v"}})
	must(t, err)
	if exp != "1" {
		t.Errorf("first experiment id = %q, want 1 (rowid after the Default experiment)", exp)
	}
	e, err := s.GetExperiment(ctx, exp)
	must(t, err)
	r, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: exp, UserID: "u", StartTime: 1234, RunName: "first"})
	must(t, err)
	id := r.Info.RunID
	if len(id) != 32 || strings.ToLower(id) != id {
		t.Errorf("run id %q", id)
	}
	if want := e.ArtifactLocation + "/" + id + "/artifacts"; r.Info.ArtifactURI != want {
		t.Errorf("artifact_uri %q, want %q", r.Info.ArtifactURI, want)
	}
	cols := "name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version, lifecycle_stage, experiment_id, deleted_time"
	wantRows(t, "new run", rows(t, s, "SELECT "+cols+" FROM runs WHERE run_uuid = ?", id),
		"first UNKNOWN   u RUNNING 1234 NULL  active 1 NULL")
	wantRows(t, "tags", rows(t, s, "SELECT key, value FROM tags WHERE run_uuid = ?", id), "mlflow.runName first")

	// A mlflow.runName tag renames the run; an empty one does nothing.
	must(t, s.LogBatch(ctx, id, nil, nil, []store.Tag{{Key: "mlflow.runName", Value: "second"}, {Key: "x", Value: "1"}}))
	must(t, s.LogBatch(ctx, id, nil, nil, []store.Tag{{Key: "mlflow.runName", Value: ""}}))
	wantRows(t, "renamed", rows(t, s, "SELECT name FROM runs WHERE run_uuid = ?", id), "second")
	wantRows(t, "renamed tags", rows(t, s, "SELECT key, value FROM tags WHERE run_uuid = ? ORDER BY key", id), "mlflow.runName second", "x 1")

	end := int64(99999)
	for _, st := range []store.RunStatus{store.StatusScheduled, store.StatusFailed, store.StatusKilled, store.StatusFinished} {
		_, err := s.UpdateRun(ctx, id, store.RunUpdate{Status: st, EndTime: &end})
		must(t, err)
		wantRows(t, "status", rows(t, s, "SELECT status, end_time FROM runs WHERE run_uuid = ?", id), st.String()+" 99999")
	}
	must(t, s.DeleteRun(ctx, id))
	got := rows(t, s, "SELECT lifecycle_stage, deleted_time IS NOT NULL FROM runs WHERE run_uuid = ?", id)
	wantRows(t, "deleted", got, "deleted 1")
	must(t, s.RestoreRun(ctx, id))
	wantRows(t, "restored", rows(t, s, "SELECT lifecycle_stage, deleted_time FROM runs WHERE run_uuid = ?", id), "active NULL")

	// Deleting the experiment deletes every run; restoring it restores
	// every run, also one deleted before (as MLflow's SQL store does).
	r2 := createRun(t, s, exp, "r2")
	must(t, s.DeleteRun(ctx, r2.Info.RunID))
	must(t, s.DeleteExperiment(ctx, exp))
	wantRows(t, "after experiment delete", rows(t, s, "SELECT lifecycle_stage, deleted_time IS NOT NULL FROM runs WHERE experiment_id = ? ORDER BY run_uuid", exp),
		"deleted 1", "deleted 1")
	must(t, s.RestoreExperiment(ctx, exp))
	wantRows(t, "after experiment restore", rows(t, s, "SELECT lifecycle_stage, deleted_time FROM runs WHERE experiment_id = ?", exp),
		"active NULL", "active NULL")

	// An explicit relative location is made absolute; ids keep counting.
	exp2, err := s.CreateExperiment(ctx, "located", "s3://b/p", nil)
	must(t, err)
	if exp2 != "2" {
		t.Errorf("second experiment id = %q", exp2)
	}
	wantRows(t, "experiment rows", rows(t, s, "SELECT experiment_id, name, artifact_location, lifecycle_stage FROM experiments WHERE experiment_id > 0 ORDER BY experiment_id"),
		"1 rows "+e.ArtifactLocation+" active", "2 located s3://b/p active")
	wantRows(t, "experiment tags", rows(t, s, "SELECT key, value, experiment_id FROM experiment_tags"), "k v 1")
}

// TestParamConflictMessage checks MLflow's log_batch wording.
func TestParamConflictMessage(t *testing.T) {
	s := newStore(t, "3.17.2")
	r := createRun(t, s, "0", "p")
	must(t, s.LogBatch(ctx, r.Info.RunID, nil, []store.Param{{Key: "lr", Value: "0.1"}, {Key: "q", Value: "it's"}}, nil))
	err := s.LogBatch(ctx, r.Info.RunID, nil, []store.Param{{Key: "lr", Value: "0.2"}, {Key: "q", Value: "x"}}, nil)
	want := "Changing param values is not allowed. Params were already logged=" +
		`'[{'key': 'lr', 'old_value': '0.1', 'new_value': '0.2'}, {'key': 'q', 'old_value': "it's", 'new_value': 'x'}]'` +
		" for run ID='" + r.Info.RunID + "'."
	if !errors.Is(err, store.ErrInvalidParameter) || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// TestBatchIsAtomic checks that a failing LogBatch writes nothing, also
// when the failure comes after the metrics (MLflow would keep them).
func TestBatchIsAtomic(t *testing.T) {
	s := newStore(t, "3.17.2")
	r := createRun(t, s, "0", "atomic")
	must(t, s.LogBatch(ctx, r.Info.RunID, nil, []store.Param{{Key: "p", Value: "1"}}, nil))
	err := s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "m", Value: 1}}, []store.Param{{Key: "p", Value: "2"}}, []store.Tag{{Key: "t", Value: "v"}})
	if !errors.Is(err, store.ErrInvalidParameter) {
		t.Fatal(err)
	}
	for _, table := range []string{"metrics", "latest_metrics"} {
		if got := rows(t, s, "SELECT count(*) FROM "+table); got[0] != "0" {
			t.Errorf("%s has %s rows after a failed batch", table, got[0])
		}
	}
	if got := rows(t, s, "SELECT count(*) FROM tags WHERE key = 't'"); got[0] != "0" {
		t.Error("tag written by a failed batch")
	}
}

// TestInputRows checks the datasets, inputs and input_tags rows against
// _log_inputs_impl.
func TestInputRows(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			s := newStore(t, v)
			exp, err := s.CreateExperiment(ctx, "inputs", "", nil)
			must(t, err)
			r1 := createRun(t, s, exp, "r1")
			r2 := createRun(t, s, exp, "r2")
			r3 := createRun(t, s, "0", "other experiment")
			train := store.DatasetInput{
				Dataset: store.Dataset{Name: "train", Digest: "abc", SourceType: "local", Source: `{"uri": "/d"}`, Schema: `{"a": 1}`},
				Tags:    []store.Tag{{Key: "mlflow.data.context", Value: "training"}},
			}
			changed := train
			changed.Dataset.Source = `{"uri": "/other"}`
			changed.Tags = []store.Tag{{Key: "mlflow.data.context", Value: "eval"}}
			must(t, s.LogInputs(ctx, r1.Info.RunID, []store.DatasetInput{train, changed})) // same (name, digest): first wins
			must(t, s.LogInputs(ctx, r1.Info.RunID, []store.DatasetInput{changed}))        // already linked: nothing
			must(t, s.LogInputs(ctx, r2.Info.RunID, []store.DatasetInput{changed}))        // reuses the dataset row
			must(t, s.LogInputs(ctx, r3.Info.RunID, []store.DatasetInput{train}))          // another experiment: new row
			wantRows(t, "datasets", rows(t, s, "SELECT experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile, length(dataset_uuid) FROM datasets ORDER BY experiment_id"),
				`0 train abc local {"uri": "/d"} {"a": 1} NULL 32`, `1 train abc local {"uri": "/d"} {"a": 1} NULL 32`)
			wantRows(t, "inputs", rows(t, s, "SELECT i.source_type, i.destination_type, i.destination_id, d.experiment_id, length(i.input_uuid) FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id ORDER BY i.destination_id"),
				sortedRows(
					"DATASET RUN "+r1.Info.RunID+" 1 32",
					"DATASET RUN "+r2.Info.RunID+" 1 32",
					"DATASET RUN "+r3.Info.RunID+" 0 32")...)
			wantRows(t, "input tags", rows(t, s, "SELECT i.destination_id, t.name, t.value FROM input_tags t JOIN inputs i ON i.input_uuid = t.input_uuid ORDER BY i.destination_id"),
				sortedRows(
					r1.Info.RunID+" mlflow.data.context training",
					r2.Info.RunID+" mlflow.data.context eval",
					r3.Info.RunID+" mlflow.data.context training")...)
			got, err := s.GetRun(ctx, r2.Info.RunID)
			must(t, err)
			if len(got.Inputs) != 1 || got.Inputs[0].Dataset != train.Dataset || got.Inputs[0].Tags[0].Value != "eval" {
				t.Errorf("r2 inputs = %+v", got.Inputs)
			}
		})
	}
}

func sortedRows(rs ...string) []string {
	slices.Sort(rs)
	return rs
}

// TestHistoryOrder checks that GetMetricHistory keeps logging order per key
// although LogBatch inserts a batch grouped by key.
func TestHistoryOrder(t *testing.T) {
	s := newStore(t, "3.17.2")
	r := createRun(t, s, "0", "order")
	var batch []store.Metric
	for i := range 300 {
		batch = append(batch, store.Metric{Key: fmt.Sprintf("k%d", i%3), Value: float64(i), Timestamp: int64(1000 - i), Step: int64((i * 37) % 11)})
	}
	must(t, s.LogBatch(ctx, r.Info.RunID, batch, nil, nil))
	for k := range 3 {
		h, err := s.GetMetricHistory(ctx, r.Info.RunID, fmt.Sprintf("k%d", k))
		must(t, err)
		for i, m := range h {
			if want := float64(3*i + k); m.Value != want {
				t.Fatalf("k%d point %d = %v, want %v", k, i, m.Value, want)
			}
		}
	}
}

// TestArtifactRootDefault checks the default artifact root: ./mlruns made
// absolute against the working directory, as MLflow's client uses it.
func TestArtifactRootDefault(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "x.db"), nil)
	must(t, err)
	defer s.Close()
	e, err := s.GetExperiment(ctx, "0")
	must(t, err)
	real, _ := filepath.EvalSymlinks(dir)
	if want := real + "/mlruns/0"; e.ArtifactLocation != want {
		t.Errorf("Default location %q, want %q", e.ArtifactLocation, want)
	}
}

// TestMetricHistoryContract covers what the skipped conformance subtests
// check apart from the SQL representation (see sqlDivergent): logging
// order across calls, an unknown key's empty history, bad keys and
// negative timestamps, and several keys in one batch.
func TestMetricHistoryContract(t *testing.T) {
	s := newStore(t, "3.17.2")
	r := createRun(t, s, "0", "history")
	id := r.Info.RunID
	h, err := s.GetMetricHistory(ctx, id, "never logged")
	must(t, err)
	if h == nil || len(h) != 0 {
		t.Errorf("history of an unknown key = %#v", h)
	}
	var want []store.Metric
	for i := range 50 {
		want = append(want, store.Metric{Key: "h", Value: float64(i) / 3, Timestamp: int64((i * 7919) % 50), Step: int64((i*31)%17 - 8)})
	}
	must(t, s.LogBatch(ctx, id, want[:20], nil, nil))
	for _, m := range want[20:] {
		must(t, s.LogBatch(ctx, id, []store.Metric{m}, nil, nil))
	}
	h, err = s.GetMetricHistory(ctx, id, "h")
	must(t, err)
	if !slices.Equal(h, want) {
		t.Errorf("history not in logging order:\n got %v\nwant %v", h, want)
	}
	if _, err := s.GetMetricHistory(ctx, id, "../x"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("bad key: %v", err)
	}
	if _, err := s.GetMetricHistory(ctx, "0123456789abcdef0123456789abcdef", "h"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
	err = s.LogBatch(ctx, id, []store.Metric{{Key: "neg", Value: 1, Timestamp: -1}}, nil, nil)
	if !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("negative timestamp: %v", err)
	}
	batch := []store.Metric{
		{Key: "loss", Value: 0.9, Timestamp: 10, Step: -3}, {Key: "train/acc", Value: 0.1, Timestamp: 11},
		{Key: "loss", Value: 0.8, Timestamp: 12, Step: -2}, {Key: "a.b-c d:e", Value: 7},
	}
	must(t, s.LogBatch(ctx, id, batch, nil, nil))
	got, err := s.GetRun(ctx, id)
	must(t, err)
	for _, w := range []store.Metric{batch[2], batch[1], batch[3]} {
		if m, ok := got.Metric(w.Key); !ok || m != w {
			t.Errorf("latest %s = %+v, want %+v", w.Key, m, w)
		}
	}
}

// TestOnePointPath checks LogBatch with a single metric point, which
// inserts the point only if the run is active in the same statement: a
// repeated point is dropped without error, a deleted run is
// store.ErrInvalidState and a missing one store.ErrNotFound, with nothing
// written.
func TestOnePointPath(t *testing.T) {
	s := newStore(t, "3.17.2")
	r := createRun(t, s, "0", "one")
	id := r.Info.RunID
	point := []store.Metric{{Key: "m", Value: 2, Timestamp: 5, Step: 1}}
	must(t, s.LogBatch(ctx, id, point, nil, nil))
	must(t, s.LogBatch(ctx, id, point, nil, nil))
	must(t, s.LogBatch(ctx, id, []store.Metric{{Key: "m", Value: 1, Timestamp: 9, Step: 0}}, nil, nil))
	wantRows(t, "metrics", rows(t, s, "SELECT key, value, timestamp, step, is_nan FROM metrics ORDER BY timestamp"),
		"m 2 5 1 0", "m 1 9 0 0")
	wantRows(t, "latest_metrics", rows(t, s, "SELECT key, value, timestamp, step FROM latest_metrics"), "m 2 5 1")

	must(t, s.DeleteRun(ctx, id))
	if err := s.LogBatch(ctx, id, []store.Metric{{Key: "m", Value: 3, Timestamp: 9, Step: 2}}, nil, nil); !errors.Is(err, store.ErrInvalidState) {
		t.Errorf("deleted run: %v, want ErrInvalidState", err)
	}
	missing := strings.Repeat("0", 32)
	if err := s.LogBatch(ctx, missing, point, nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing run: %v, want ErrNotFound", err)
	}
	wantRows(t, "metrics after refusals", rows(t, s, "SELECT count(*) FROM metrics"), "2")
	wantRows(t, "latest_metrics after refusals", rows(t, s, "SELECT value, step FROM latest_metrics"), "2 1")
}
