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

func TestLoggedModelBadInput(t *testing.T) {
	s := openStore(t, nil)
	run, err := s.CreateRun(bg, store.CreateRunRequest{UserID: "u"})
	mustNil(t, err, "CreateRun")
	rid := run.Info.RunID
	for _, name := range []string{"a/b", "a.b", "50%", `q"`, "it's", "c:d"} {
		if _, err := s.CreateLoggedModel(bg, store.CreateLoggedModelRequest{Name: name}); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("name %q: %v", name, err)
		}
	}
	if _, err := s.CreateLoggedModel(bg, store.CreateLoggedModelRequest{ExperimentID: "42"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown experiment: %v", err)
	}
	lm, err := s.CreateLoggedModel(bg, store.CreateLoggedModelRequest{})
	mustNil(t, err, "CreateLoggedModel without name")
	if lm.Name == "" || lm.ModelType != "" || lm.SourceRunID != "" {
		t.Errorf("defaults %+v", lm)
	}
	if !strings.Contains(readFileT(t, filepath.Join(s.Root(), "0", "models", lm.ModelID, "meta.yaml")), "model_type: null\n") {
		t.Error("model_type not null")
	}
	for _, id := range []string{"../0", "m-../x", "x", "m-", "m-a/b"} {
		if _, err := s.GetLoggedModel(bg, id); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("get %q: %v", id, err)
		}
		if err := s.LogOutputs(bg, rid, []store.LoggedModelOutput{{ModelID: id}}); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("output %q: %v", id, err)
		}
	}
	if _, err := s.GetLoggedModel(bg, store.NewLoggedModelID()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown model: %v", err)
	}
	for _, m := range []store.LoggedModelMetric{
		{Key: "k", Value: 1}, // no run id
		{Key: "../k", Value: 1, RunID: rid},
		{Key: "k", Value: 1, RunID: rid, DatasetName: "only-name"},
		{Key: "k", Value: 1, RunID: rid, DatasetName: "a b", DatasetDigest: "d"},
	} {
		if err := s.LogLoggedModelMetrics(bg, lm.ModelID, []store.LoggedModelMetric{m}); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("metric %+v: %v", m, err)
		}
	}
	if err := s.DeleteLoggedModelTag(bg, lm.ModelID, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete missing tag: %v", err)
	}
	mustNil(t, s.SetLoggedModelTags(bg, lm.ModelID, []store.Tag{{Key: "k", Value: "v"}}), "SetLoggedModelTags")
	mustNil(t, s.DeleteLoggedModelTag(bg, lm.ModelID, "k"), "DeleteLoggedModelTag")
	if _, err := s.FinalizeLoggedModel(bg, lm.ModelID, store.LoggedModelStatus(7)); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("bad status: %v", err)
	}
	mustNil(t, s.DeleteRun(bg, rid), "DeleteRun")
	if err := s.LogOutputs(bg, rid, []store.LoggedModelOutput{{ModelID: lm.ModelID}}); !errors.Is(err, store.ErrInvalidState) {
		t.Errorf("output on deleted run: %v", err)
	}
	checkLayout(t, s.Root())
}

func TestSearchLoggedModels(t *testing.T) {
	s := openStore(t, &Options{hooks: deterministicHooks()})
	run, err := s.CreateRun(bg, store.CreateRunRequest{UserID: "u"})
	mustNil(t, err, "CreateRun")
	var ids []string
	for i, name := range []string{"b", "a", "c", "doomed"} {
		lm, err := s.CreateLoggedModel(bg, store.CreateLoggedModelRequest{Name: name, SourceRunID: run.Info.RunID,
			Params: []store.Param{{Key: "i", Value: fmt.Sprint(i)}}})
		mustNil(t, err, "create")
		mustNil(t, s.LogLoggedModelMetrics(bg, lm.ModelID, []store.LoggedModelMetric{{Key: "acc", Value: float64(i) / 10, Timestamp: 1, RunID: run.Info.RunID}}), "metric")
		ids = append(ids, lm.ModelID)
	}
	mustNil(t, s.DeleteLoggedModel(bg, ids[3]), "delete")
	_, err = s.FinalizeLoggedModel(bg, ids[0], store.LoggedModelReady)
	mustNil(t, err, "finalize")
	search := func(q store.LoggedModelQuery) []string {
		t.Helper()
		q.ExperimentIDs = []string{"0", "999"}
		page, err := s.SearchLoggedModels(bg, q)
		mustNil(t, err, fmt.Sprintf("search %+v", q))
		var out []string
		for _, m := range page.Models {
			out = append(out, m.Name)
		}
		return out
	}
	for _, tc := range []struct {
		q    store.LoggedModelQuery
		want string
	}{
		{store.LoggedModelQuery{}, "[c a b]"}, // creation_timestamp DESC
		{store.LoggedModelQuery{OrderBy: []store.LoggedModelOrderBy{{FieldName: "name", Ascending: true}}}, "[a b c]"},
		{store.LoggedModelQuery{OrderBy: []store.LoggedModelOrderBy{{FieldName: "metrics.acc"}}}, "[c a b]"},
		{store.LoggedModelQuery{Filter: "name = 'a'"}, "[a]"},
		{store.LoggedModelQuery{Filter: "attributes.name != 'a' and status = 'READY'"}, "[b]"},
		{store.LoggedModelQuery{Filter: "status = 'PENDING'"}, "[c a]"},
		{store.LoggedModelQuery{Filter: "metrics.acc >= 0.1"}, "[c a]"},
		{store.LoggedModelQuery{Filter: "params.i LIKE '_'"}, "[c a b]"},
		{store.LoggedModelQuery{Filter: "params.`i` = '2'"}, "[c]"},
		{store.LoggedModelQuery{Filter: "name ILIKE 'A%'"}, "[a]"},
		{store.LoggedModelQuery{Filter: "metrics.missing > 0"}, "[]"},
		{store.LoggedModelQuery{Filter: "creation_time > 0"}, "[c a b]"},
	} {
		if got := fmt.Sprint(search(tc.q)); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.q, got, tc.want)
		}
	}
	// Paging.
	var all []string
	q := store.LoggedModelQuery{ExperimentIDs: []string{"0"}, MaxResults: 2}
	for {
		page, err := s.SearchLoggedModels(bg, q)
		mustNil(t, err, "page")
		for _, m := range page.Models {
			all = append(all, m.Name)
		}
		if page.NextPageToken == "" {
			break
		}
		q.PageToken = page.NextPageToken
	}
	if fmt.Sprint(all) != "[c a b]" {
		t.Errorf("paged %v", all)
	}
	for _, f := range []string{"name = a", "name > 'a'", "metrics.acc = 'x'", "foo = 'x'", "name = 'a' OR name = 'b'", "bogus.x = '1'", "name = 'a"} {
		if _, err := s.SearchLoggedModels(bg, store.LoggedModelQuery{ExperimentIDs: []string{"0"}, Filter: f}); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("filter %q: %v", f, err)
		}
	}
	if _, err := s.SearchLoggedModels(bg, store.LoggedModelQuery{ExperimentIDs: []string{"0"}, OrderBy: []store.LoggedModelOrderBy{{FieldName: "params.x"}}}); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("order by params: %v", err)
	}
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
