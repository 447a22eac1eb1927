package fsstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

func readFileT(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLoggedModelLayout checks the bytes MLflow 3.17.2's FileStore writes
// (create_logged_model, finalize_logged_model, log_outputs,
// _log_model_metric), on a deterministic clock.
func TestLoggedModelLayout(t *testing.T) {
	s := openStore(t, &Options{hooks: deterministicHooks()})
	run, err := s.CreateRun(bg, store.CreateRunRequest{UserID: "alice"})
	mustNil(t, err, "CreateRun")
	rid := run.Info.RunID
	lm, err := s.CreateLoggedModel(bg, store.CreateLoggedModelRequest{
		Name: "ridge", SourceRunID: rid, ModelType: "regressor",
		Params: []store.Param{{Key: "alpha", Value: "0.5"}, {Key: "a/b", Value: "x\ny"}},
		Tags:   []store.Tag{{Key: "t", Value: "v ✓"}},
	})
	mustNil(t, err, "CreateLoggedModel")
	id := lm.ModelID
	if err := store.ValidateLoggedModelID(id); err != nil || len(id) != 34 {
		t.Fatalf("model id %q: %v", id, err)
	}
	dir := filepath.Join(s.Root(), "0", "models", id)
	loc := "file://" + filepath.ToSlash(dir) + "/artifacts"
	if lm.ArtifactLocation != loc || lm.Status != store.LoggedModelPending || lm.ExperimentID != "0" ||
		lm.Params["a/b"] != "x\ny" || lm.Tags["t"] != "v ✓" || lm.SourceRunID != rid {
		t.Fatalf("created %+v", lm)
	}
	created := fmt.Sprintf(`artifact_location: %s
creation_timestamp: %d
experiment_id: '0'
last_updated_timestamp: %d
lifecycle_stage: active
model_id: %s
model_type: regressor
name: ridge
source_run_id: %s
status: 1
status_message: null
`, loc, lm.CreationTimestamp, lm.CreationTimestamp, id, rid)
	if got := readFileT(t, filepath.Join(dir, "meta.yaml")); got != created {
		t.Errorf("meta.yaml at creation:\n%s\nwant\n%s", got, created)
	}
	for _, sub := range []string{"metrics", "params", "tags", "artifacts"} {
		if info, err := os.Stat(filepath.Join(dir, sub)); err != nil || !info.IsDir() {
			t.Errorf("%s/: %v", sub, err)
		}
	}
	if got := readFileT(t, filepath.Join(dir, "params", "a", "b")); got != "x\ny" {
		t.Errorf("param file %q", got)
	}
	mustNil(t, s.LogLoggedModelMetrics(bg, id, []store.LoggedModelMetric{
		{Key: "acc", Value: 0.9, Timestamp: 5, Step: 3, RunID: rid},
		{Key: "acc", Value: 1e-05, Timestamp: 6, Step: 4, RunID: rid, DatasetName: "train", DatasetDigest: "abc"},
		{Key: "acc", Value: 0.5, Timestamp: 7, Step: 1, RunID: rid},
	}), "LogLoggedModelMetrics")
	wantLines := fmt.Sprintf("5 0.9 3 %s\n6 1e-05 4 %s train abc\n7 0.5 1 %s\n", rid, rid, rid)
	if got := readFileT(t, filepath.Join(dir, "metrics", "acc")); got != wantLines {
		t.Errorf("metric file %q, want %q", got, wantLines)
	}
	mustNil(t, s.LogOutputs(bg, rid, []store.LoggedModelOutput{{ModelID: id, Step: 3}}), "LogOutputs")
	mustNil(t, s.LogOutputs(bg, rid, []store.LoggedModelOutput{{ModelID: id, Step: 99}}), "LogOutputs again")
	wantOut := fmt.Sprintf("destination_id: %s\ndestination_type: MODEL_OUTPUT\nsource_id: %s\nsource_type: RUN_OUTPUT\nstep: 3\ntags: {}\n", id, id)
	if got := readFileT(t, filepath.Join(s.Root(), "0", rid, "outputs", id, "meta.yaml")); got != wantOut {
		t.Errorf("output meta.yaml %q, want %q", got, wantOut)
	}
	fin, err := s.FinalizeLoggedModel(bg, id, store.LoggedModelReady)
	mustNil(t, err, "FinalizeLoggedModel")
	final := strings.Replace(strings.Replace(created, "lifecycle_stage: active\n", "", 1), "status: 1", "status: 2", 1)
	final = strings.Replace(final, fmt.Sprintf("last_updated_timestamp: %d", lm.CreationTimestamp), fmt.Sprintf("last_updated_timestamp: %d", fin.LastUpdatedTimestamp), 1)
	if got := readFileT(t, filepath.Join(dir, "meta.yaml")); got != final || fin.LastUpdatedTimestamp <= lm.CreationTimestamp {
		t.Errorf("meta.yaml after finalize:\n%s\nwant\n%s", got, final)
	}
	got, err := s.GetLoggedModel(bg, id)
	mustNil(t, err, "GetLoggedModel")
	// Latest per dataset by (step, timestamp, value): step 3 (no dataset)
	// and step 4 (train/abc).
	if len(got.Metrics) != 2 || got.Metrics[0].Value != 0.9 || got.Metrics[1].DatasetName != "train" || got.Status != store.LoggedModelReady {
		t.Errorf("read back %+v", got)
	}
	outs, err := s.GetRunOutputs(bg, rid)
	if err != nil || len(outs) != 1 || outs[0] != (store.LoggedModelOutput{ModelID: id, Step: 3}) {
		t.Errorf("outputs %+v %v", outs, err)
	}
	// The run still reads as before, and the store is MLflow-clean.
	r, err := s.GetRun(bg, rid)
	if err != nil || len(r.Data.Metrics) != 0 {
		t.Errorf("run %+v %v", r, err)
	}
	checkLayout(t, s.Root())

	mustNil(t, s.DeleteLoggedModel(bg, id), "DeleteLoggedModel")
	if !strings.Contains(readFileT(t, filepath.Join(dir, "meta.yaml")), "lifecycle_stage: deleted\n") {
		t.Error("deleted model's meta.yaml lacks lifecycle_stage: deleted")
	}
	if _, err := s.GetLoggedModel(bg, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
}

// TestLoggedModelBadInputLayout checks that an unnamed model's meta.yaml
// has model_type: null, and that rejected calls leave the store
// MLflow-clean (the behaviour itself is in storetest.RunLoggedModels).
func TestLoggedModelBadInputLayout(t *testing.T) {
	s := openStore(t, nil)
	run, err := s.CreateRun(bg, store.CreateRunRequest{UserID: "u"})
	mustNil(t, err, "CreateRun")
	rid := run.Info.RunID
	for _, name := range []string{"a/b", "a.b"} {
		if _, err := s.CreateLoggedModel(bg, store.CreateLoggedModelRequest{Name: name}); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("name %q: %v", name, err)
		}
	}
	lm, err := s.CreateLoggedModel(bg, store.CreateLoggedModelRequest{})
	mustNil(t, err, "CreateLoggedModel without name")
	if !strings.Contains(readFileT(t, filepath.Join(s.Root(), "0", "models", lm.ModelID, "meta.yaml")), "model_type: null\n") {
		t.Error("model_type not null")
	}
	for _, id := range []string{"../0", "m-../x", "m-a/b"} {
		if err := s.LogOutputs(bg, rid, []store.LoggedModelOutput{{ModelID: id}}); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("output %q: %v", id, err)
		}
	}
	for _, m := range []store.LoggedModelMetric{
		{Key: "../k", Value: 1, RunID: rid},
		{Key: "k", Value: 1, RunID: rid, DatasetName: "a b", DatasetDigest: "d"}, // no room in the line format
	} {
		if err := s.LogLoggedModelMetrics(bg, lm.ModelID, []store.LoggedModelMetric{m}); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("metric %+v: %v", m, err)
		}
	}
	checkLayout(t, s.Root())
}

// TestLoggedModelConcurrentMetrics appends model metrics from many
// goroutines: every line arrives whole, none is lost.
func TestLoggedModelConcurrentMetrics(t *testing.T) {
	s := openStore(t, nil)
	run, err := s.CreateRun(bg, store.CreateRunRequest{UserID: "u"})
	mustNil(t, err, "CreateRun")
	lm, err := s.CreateLoggedModel(bg, store.CreateLoggedModelRequest{Name: "m"})
	mustNil(t, err, "create")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				if err := s.LogLoggedModelMetrics(bg, lm.ModelID, []store.LoggedModelMetric{{Key: "loss", Value: float64(i), Timestamp: int64(g), Step: int64(i), RunID: run.Info.RunID}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	data := readFileT(t, filepath.Join(s.Root(), "0", "models", lm.ModelID, "metrics", "loss"))
	pts, err := parseModelMetricFile("loss", "loss", []byte(data))
	if err != nil || len(pts) != 200 {
		t.Errorf("%d points, %v", len(pts), err)
	}
}

func TestParseModelMetricFile(t *testing.T) {
	pts, err := parseModelMetricFile("f", "k", []byte("1 0.5 2 r1\n3 nan 4 r2 ds dg\n5 1.0 6"))
	if err != nil || len(pts) != 2 || pts[1].DatasetDigest != "dg" || pts[1].RunID != "r2" {
		t.Errorf("%+v %v", pts, err)
	}
	for _, bad := range []string{"1 0.5 2\n", "1 0.5 2 r ds\n", "x 0.5 2 r\n"} {
		if _, err := parseModelMetricFile("f", "k", []byte(bad)); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestLoggedModelMetricDatasetOrder checks that a metric filter compares
// the metric of the dataset logged first, as MLflow's file store lists a
// model's metrics (not the alphabetically first dataset).
func TestLoggedModelMetricDatasetOrder(t *testing.T) {
	s := openStore(t, nil)
	run, err := s.CreateRun(bg, store.CreateRunRequest{UserID: "alice"})
	mustNil(t, err, "CreateRun")
	lm, err := s.CreateLoggedModel(bg, store.CreateLoggedModelRequest{Name: "m", SourceRunID: run.Info.RunID})
	mustNil(t, err, "CreateLoggedModel")
	rid := run.Info.RunID
	mustNil(t, s.LogLoggedModelMetrics(bg, lm.ModelID, []store.LoggedModelMetric{
		{Key: "acc", Value: 0.5, Timestamp: 1, RunID: rid, DatasetName: "zeta", DatasetDigest: "z1"},
		{Key: "acc", Value: 0.95, Timestamp: 2, RunID: rid, DatasetName: "alpha", DatasetDigest: "a1"},
	}), "LogLoggedModelMetrics")
	got, err := s.GetLoggedModel(bg, lm.ModelID)
	mustNil(t, err, "GetLoggedModel")
	if len(got.Metrics) != 2 || got.Metrics[0].DatasetName != "zeta" {
		t.Fatalf("metrics %+v, want zeta's first", got.Metrics)
	}
	for filter, want := range map[string]int{"metrics.acc > 0.9": 0, "metrics.acc < 0.6": 1} {
		page, err := s.SearchLoggedModels(bg, store.LoggedModelQuery{ExperimentIDs: []string{"0"}, Filter: filter})
		mustNil(t, err, filter)
		if len(page.Models) != want {
			t.Errorf("%s: %d models, want %d", filter, len(page.Models), want)
		}
	}
}
