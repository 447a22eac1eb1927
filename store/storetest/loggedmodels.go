package storetest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/store"
)

// LMOpener opens a fresh, empty store with MLflow 3 logged models for one
// subtest. The suite closes it.
type LMOpener func(t *testing.T) LMStore

// LMStore is a store with logged models.
type LMStore interface {
	store.Store
	store.LoggedModels
}

// RunLoggedModels runs the logged-model conformance suite
// (store.LoggedModels) against the backend open creates, with the rules of
// the MLflow store opts names: Options.Metrics SQLMetrics means
// MLflow's SQL store (search.SQLLoggedModels), whose logged models differ
// from the file store's: a model reads back every metric point (stored as
// SQL stores them) instead of the latest per key and dataset, a param
// logged again fails instead of being overwritten, and status filters
// compare the status integer instead of its name.
//
// With Options.State, requests the suite expects refused must also leave
// the store unchanged.
func RunLoggedModels(t *testing.T, open LMOpener, opts Options) {
	t.Helper()
	for _, tc := range lmCases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s, opts)
		})
	}
}

var lmCases = []struct {
	name string
	fn   func(t *testing.T, s LMStore, opts Options)
}{
	{"CreateGetFinalize", testLMCreateGetFinalize},
	{"Defaults", testLMDefaults},
	{"BadInput", testLMBadInput},
	{"TagsParams", testLMTagsParams},
	{"Metrics", testLMMetrics},
	{"Delete", testLMDelete},
	{"Outputs", testLMOutputs},
	{"Search", testLMSearch},
	{"SearchPaging", testLMSearchPaging},
	{"SearchInvalid", testLMSearchInvalid},
	{"ConcurrentMetrics", testLMConcurrentMetrics},
	{"InvalidUTF8", testLMInvalidUTF8},
	{"KeyFolders", testLMKeyFolders},
	{"SameStepAndTime", testLMSameStepAndTime},
}

func createLM(t *testing.T, s LMStore, req store.CreateLoggedModelRequest) *store.LoggedModel {
	t.Helper()
	lm, err := s.CreateLoggedModel(ctx, req)
	must(t, err, "CreateLoggedModel")
	return lm
}

func getLM(t *testing.T, s LMStore, id string) *store.LoggedModel {
	t.Helper()
	lm, err := s.GetLoggedModel(ctx, id)
	must(t, err, "GetLoggedModel")
	return lm
}

func testLMCreateGetFinalize(t *testing.T, s LMStore, _ Options) {
	expID := createExperiment(t, s, "lm")
	run := createRun(t, s, expID, "trainer", 0)
	lm := createLM(t, s, store.CreateLoggedModelRequest{
		ExperimentID: expID, Name: "ridge", SourceRunID: run.Info.RunID, ModelType: "regressor",
		Params: []store.Param{{Key: "alpha", Value: "0.5"}, {Key: "a/b", Value: "x\ny"}},
		Tags:   []store.Tag{{Key: "t", Value: "v ✓"}},
	})
	if err := store.ValidateLoggedModelID(lm.ModelID); err != nil || len(lm.ModelID) != 34 {
		t.Fatalf("model id %q: %v", lm.ModelID, err)
	}
	exp := getExperiment(t, s, expID)
	wantLoc := strings.TrimRight(exp.ArtifactLocation, "/") + "/models/" + lm.ModelID + "/artifacts"
	if lm.ArtifactLocation != wantLoc || lm.Status != store.LoggedModelPending || lm.ExperimentID != expID ||
		lm.Name != "ridge" || lm.ModelType != "regressor" || lm.SourceRunID != run.Info.RunID ||
		lm.CreationTimestamp == 0 || lm.LastUpdatedTimestamp != lm.CreationTimestamp {
		t.Fatalf("created %+v, want location %s", lm, wantLoc)
	}
	got := getLM(t, s, lm.ModelID)
	if !mapsEqual(got.Params, map[string]string{"alpha": "0.5", "a/b": "x\ny"}) || !mapsEqual(got.Tags, map[string]string{"t": "v ✓"}) ||
		len(got.Metrics) != 0 || got.ArtifactLocation != wantLoc || got.URI() != "models:/"+lm.ModelID {
		t.Fatalf("read back %+v", got)
	}
	fin, err := s.FinalizeLoggedModel(ctx, lm.ModelID, store.LoggedModelReady)
	must(t, err, "FinalizeLoggedModel")
	if fin.Status != store.LoggedModelReady || fin.LastUpdatedTimestamp < lm.CreationTimestamp || fin.CreationTimestamp != lm.CreationTimestamp {
		t.Errorf("finalized %+v", fin)
	}
	if got := getLM(t, s, lm.ModelID); got.Status != store.LoggedModelReady || got.LastUpdatedTimestamp != fin.LastUpdatedTimestamp {
		t.Errorf("finalized reads %+v", got)
	}
	fin, err = s.FinalizeLoggedModel(ctx, lm.ModelID, store.LoggedModelFailed)
	if err != nil || fin.Status != store.LoggedModelFailed {
		t.Errorf("finalize FAILED: %+v %v", fin, err)
	}
}

func testLMDefaults(t *testing.T, s LMStore, _ Options) {
	lm := createLM(t, s, store.CreateLoggedModelRequest{})
	if lm.Name == "" || lm.ModelType != "" || lm.SourceRunID != "" || lm.ExperimentID != store.DefaultExperimentID ||
		lm.StatusMessage != "" || len(lm.Params) != 0 || len(lm.Tags) != 0 {
		t.Errorf("defaults %+v", lm)
	}
	if err := store.ValidateLoggedModelName(lm.Name); err != nil {
		t.Errorf("generated name %q: %v", lm.Name, err)
	}
}

func testLMBadInput(t *testing.T, s LMStore, _ Options) {
	run := createRun(t, s, store.DefaultExperimentID, "r", 0)
	rid := run.Info.RunID
	for _, name := range []string{"a/b", "a.b", "50%", `q"`, "it's", "c:d"} {
		_, err := s.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{Name: name})
		wantErr(t, err, store.ErrInvalidParameter, "name "+name)
	}
	_, err := s.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{ExperimentID: "42"})
	wantErr(t, err, store.ErrNotFound, "unknown experiment")
	gone := createExperiment(t, s, "gone")
	must(t, s.DeleteExperiment(ctx, gone), "DeleteExperiment")
	_, err = s.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{ExperimentID: gone})
	wantErr(t, err, store.ErrInvalidState, "deleted experiment")
	lm := createLM(t, s, store.CreateLoggedModelRequest{Name: "m"})
	for _, id := range []string{"../0", "m-../x", "x", "m-", "m-a/b"} {
		_, err := s.GetLoggedModel(ctx, id)
		wantErr(t, err, store.ErrInvalidParameter, "get "+id)
		wantErr(t, s.LogOutputs(ctx, rid, []store.LoggedModelOutput{{ModelID: id}}), store.ErrInvalidParameter, "output "+id)
	}
	_, err = s.GetLoggedModel(ctx, store.NewLoggedModelID())
	wantErr(t, err, store.ErrNotFound, "unknown model")
	for _, m := range []store.LoggedModelMetric{
		{Key: "k", Value: 1}, // no run id
		{Key: "../k", Value: 1, RunID: rid},
		{Key: "k", Value: 1, RunID: rid, DatasetName: "only-name"},
	} {
		wantErr(t, s.LogLoggedModelMetrics(ctx, lm.ModelID, []store.LoggedModelMetric{m}), store.ErrInvalidParameter, fmt.Sprintf("metric %+v", m))
	}
	_, err = s.FinalizeLoggedModel(ctx, lm.ModelID, store.LoggedModelStatus(7))
	wantErr(t, err, store.ErrInvalidParameter, "bad status")
	must(t, s.DeleteRun(ctx, rid), "DeleteRun")
	wantErr(t, s.LogOutputs(ctx, rid, []store.LoggedModelOutput{{ModelID: lm.ModelID}}), store.ErrInvalidState, "output on a deleted run")
}

func testLMTagsParams(t *testing.T, s LMStore, opts Options) {
	lm := createLM(t, s, store.CreateLoggedModelRequest{Name: "m", Params: []store.Param{{Key: "p", Value: "1"}}})
	id := lm.ModelID
	wantErr(t, s.DeleteLoggedModelTag(ctx, id, "missing"), store.ErrNotFound, "delete a missing tag")
	must(t, s.SetLoggedModelTags(ctx, id, []store.Tag{{Key: "k", Value: "v"}, {Key: "k2", Value: "x"}}), "SetLoggedModelTags")
	must(t, s.SetLoggedModelTags(ctx, id, []store.Tag{{Key: "k", Value: "w"}}), "SetLoggedModelTags again")
	must(t, s.DeleteLoggedModelTag(ctx, id, "k2"), "DeleteLoggedModelTag")
	must(t, s.LogLoggedModelParams(ctx, id, []store.Param{{Key: "q", Value: "2"}}), "LogLoggedModelParams")
	err := s.LogLoggedModelParams(ctx, id, []store.Param{{Key: "p", Value: "changed"}})
	wantParams := map[string]string{"p": "1", "q": "2"}
	if opts.Metrics == SQLMetrics {
		wantErr(t, err, store.ErrInvalidParameter, "param logged again (SQL store)")
	} else {
		must(t, err, "param logged again (file store: overwritten)")
		wantParams["p"] = "changed"
	}
	got := getLM(t, s, id)
	if !mapsEqual(got.Tags, map[string]string{"k": "w"}) || !mapsEqual(got.Params, wantParams) {
		t.Errorf("tags %v params %v, want params %v", got.Tags, got.Params, wantParams)
	}
}

// wantModelMetrics is what GetLoggedModel returns after logged was logged
// in that order: the file store keeps the latest point per key and dataset
// (sorted by key, dataset), the SQL store every distinct point as stored.
func wantModelMetrics(opts Options, logged []store.LoggedModelMetric) []store.LoggedModelMetric {
	if opts.Metrics == SQLMetrics {
		out := make([]store.LoggedModelMetric, 0, len(logged))
		for _, m := range logged {
			m.Value = SQLMetrics.Stored(store.Metric{Value: m.Value}).Value
			if math.IsNaN(m.Value) {
				m.Value = 0
			}
			out = append(out, m)
		}
		return out
	}
	var out []store.LoggedModelMetric
	for _, m := range logged {
		i := -1
		for j, o := range out {
			if o.Key == m.Key && o.DatasetName == m.DatasetName && o.DatasetDigest == m.DatasetDigest {
				i = j
			}
		}
		point := func(x store.LoggedModelMetric) store.Metric {
			return store.Metric{Value: x.Value, Timestamp: x.Timestamp, Step: x.Step}
		}
		switch {
		case i < 0:
			out = append(out, m)
		case store.Supersedes(point(m), point(out[i])):
			out[i] = m
		}
	}
	slices.SortStableFunc(out, func(a, b store.LoggedModelMetric) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.DatasetName, b.DatasetName), strings.Compare(a.DatasetDigest, b.DatasetDigest))
	})
	return out
}

func formatLMMetrics(ms []store.LoggedModelMetric) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "[%s %v ts=%d step=%d run=%s ds=%s/%s]", m.Key, m.Value, m.Timestamp, m.Step, m.RunID, m.DatasetName, m.DatasetDigest)
	}
	return b.String()
}

func testLMMetrics(t *testing.T, s LMStore, opts Options) {
	run := createRun(t, s, store.DefaultExperimentID, "r", 0)
	rid := run.Info.RunID
	lm := createLM(t, s, store.CreateLoggedModelRequest{Name: "m", SourceRunID: rid})
	pts := []store.LoggedModelMetric{
		{Key: "acc", Value: 0.9, Timestamp: 5, Step: 3, RunID: rid},
		{Key: "acc", Value: 1e-05, Timestamp: 6, Step: 4, RunID: rid, DatasetName: "train", DatasetDigest: "abc"},
		{Key: "acc", Value: 0.5, Timestamp: 7, Step: 1, RunID: rid},
		{Key: "loss", Value: math.Inf(1), Timestamp: 8, Step: 0, RunID: rid},
		{Key: "nan", Value: math.NaN(), Timestamp: 9, Step: 0, RunID: rid},
	}
	must(t, s.LogLoggedModelMetrics(ctx, lm.ModelID, pts[:2]), "LogLoggedModelMetrics")
	must(t, s.LogLoggedModelMetrics(ctx, lm.ModelID, pts[2:]), "LogLoggedModelMetrics")
	// The same point again is not a second point.
	must(t, s.LogLoggedModelMetrics(ctx, lm.ModelID, pts[:1]), "LogLoggedModelMetrics again")
	got := getLM(t, s, lm.ModelID)
	// Compared as text, so that the file store's NaN equals itself.
	if g, w := formatLMMetrics(got.Metrics), formatLMMetrics(wantModelMetrics(opts, pts)); g != w {
		t.Errorf("metrics\n got %s\nwant %s", g, w)
	}
	if x, ok := got.Metric("acc"); !ok || x.Value != 0.9 || x.Step != 3 || x.RunID != rid {
		t.Errorf("Metric(acc) = %+v, %v", x, ok)
	}
	if _, ok := got.Metric("missing"); ok {
		t.Error("Metric(missing) found")
	}
	// The run's own metrics are not touched, except where a model's
	// points are metrics of their run too.
	var wantKeys []string
	if opts.ModelMetricsInRun {
		wantKeys = []string{"acc", "loss", "nan"}
	}
	var gotKeys []string
	for _, m := range getRun(t, s, rid).Data.Metrics {
		gotKeys = append(gotKeys, m.Key)
	}
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("run metrics %v, want %v", gotKeys, wantKeys)
	}
	must(t, s.DeleteRun(ctx, rid), "DeleteRun")
	if err := s.LogLoggedModelMetrics(ctx, lm.ModelID, []store.LoggedModelMetric{{Key: "k", Value: 1, RunID: rid}}); err == nil && opts.Metrics == SQLMetrics {
		t.Error("SQL store: a metric of a deleted run was logged")
	}
}

func testLMDelete(t *testing.T, s LMStore, _ Options) {
	lm := createLM(t, s, store.CreateLoggedModelRequest{Name: "doomed"})
	keep := createLM(t, s, store.CreateLoggedModelRequest{Name: "kept"})
	must(t, s.DeleteLoggedModel(ctx, lm.ModelID), "DeleteLoggedModel")
	_, err := s.GetLoggedModel(ctx, lm.ModelID)
	wantErr(t, err, store.ErrNotFound, "get a deleted model")
	_, err = s.FinalizeLoggedModel(ctx, lm.ModelID, store.LoggedModelReady)
	wantErr(t, err, store.ErrNotFound, "finalize a deleted model")
	wantErr(t, s.SetLoggedModelTags(ctx, lm.ModelID, []store.Tag{{Key: "k", Value: "v"}}), store.ErrNotFound, "tag a deleted model")
	wantErr(t, s.DeleteLoggedModel(ctx, lm.ModelID), store.ErrNotFound, "delete a deleted model")
	page, err := s.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{store.DefaultExperimentID}})
	must(t, err, "SearchLoggedModels")
	if len(page.Models) != 1 || page.Models[0].ModelID != keep.ModelID {
		t.Errorf("search after delete: %d models", len(page.Models))
	}
}

func testLMOutputs(t *testing.T, s LMStore, _ Options) {
	run := createRun(t, s, store.DefaultExperimentID, "r", 0)
	rid := run.Info.RunID
	a := createLM(t, s, store.CreateLoggedModelRequest{Name: "a"})
	b := createLM(t, s, store.CreateLoggedModelRequest{Name: "b"})
	outs, err := s.GetRunOutputs(ctx, rid)
	if err != nil || len(outs) != 0 {
		t.Fatalf("no outputs: %v %v", outs, err)
	}
	must(t, s.LogOutputs(ctx, rid, []store.LoggedModelOutput{{ModelID: b.ModelID, Step: 3}, {ModelID: a.ModelID, Step: 0}}), "LogOutputs")
	must(t, s.LogOutputs(ctx, rid, []store.LoggedModelOutput{{ModelID: b.ModelID, Step: 99}}), "LogOutputs again")
	outs, err = s.GetRunOutputs(ctx, rid)
	must(t, err, "GetRunOutputs")
	want := []store.LoggedModelOutput{{ModelID: a.ModelID}, {ModelID: b.ModelID, Step: 3}}
	if a.ModelID > b.ModelID {
		want[0], want[1] = want[1], want[0]
	}
	if fmt.Sprint(outs) != fmt.Sprint(want) {
		t.Errorf("outputs %v, want %v", outs, want)
	}
	_, err = s.GetRunOutputs(ctx, store.NewRunID())
	wantErr(t, err, store.ErrNotFound, "outputs of an unknown run")
}

// lmSearchFixture creates models b, a, c (in that order, at increasing
// times) and a deleted one, each with param i and metric acc = i/10; b is
// READY.
func lmSearchFixture(t *testing.T, s LMStore) {
	run := createRun(t, s, store.DefaultExperimentID, "r", 0)
	var ids []string
	for i, name := range []string{"b", "a", "c", "doomed"} {
		lm := createLM(t, s, store.CreateLoggedModelRequest{Name: name, SourceRunID: run.Info.RunID,
			Params: []store.Param{{Key: "i", Value: fmt.Sprint(i)}}})
		must(t, s.LogLoggedModelMetrics(ctx, lm.ModelID, []store.LoggedModelMetric{{Key: "acc", Value: float64(i) / 10, Timestamp: 1, RunID: run.Info.RunID}}), "metric")
		ids = append(ids, lm.ModelID)
		waitNextMilli(lm.CreationTimestamp)
	}
	must(t, s.DeleteLoggedModel(ctx, ids[3]), "delete")
	_, err := s.FinalizeLoggedModel(ctx, ids[0], store.LoggedModelReady)
	must(t, err, "finalize")
}

// waitNextMilli waits until the clock has passed ms, so that the next
// model is created later.
func waitNextMilli(ms int64) {
	for store.NowMillis() <= ms {
		time.Sleep(100 * time.Microsecond)
	}
}

func lmSearchNames(t *testing.T, s LMStore, q store.LoggedModelQuery) string {
	t.Helper()
	if q.ExperimentIDs == nil {
		q.ExperimentIDs = []string{store.DefaultExperimentID, "999"}
	}
	page, err := s.SearchLoggedModels(ctx, q)
	must(t, err, fmt.Sprintf("search %+v", q))
	var out []string
	for _, m := range page.Models {
		out = append(out, m.Name)
	}
	return fmt.Sprint(out)
}

func testLMSearch(t *testing.T, s LMStore, opts Options) {
	lmSearchFixture(t, s)
	ready := "[b]" // the file store compares the status name
	if opts.Metrics == SQLMetrics {
		ready = "[]" // the SQL store its integer (READY is 2)
	}
	for _, tc := range []struct {
		q    store.LoggedModelQuery
		want string
	}{
		{store.LoggedModelQuery{}, "[c a b]"}, // creation_timestamp DESC
		{store.LoggedModelQuery{OrderBy: []store.LoggedModelOrderBy{{FieldName: "name", Ascending: true}}}, "[a b c]"},
		{store.LoggedModelQuery{OrderBy: []store.LoggedModelOrderBy{{FieldName: "metrics.acc"}}}, "[c a b]"},
		{store.LoggedModelQuery{OrderBy: []store.LoggedModelOrderBy{{FieldName: "metrics.acc", Ascending: true}}}, "[b a c]"},
		{store.LoggedModelQuery{OrderBy: []store.LoggedModelOrderBy{{FieldName: "creation_timestamp", Ascending: true}}}, "[b a c]"},
		{store.LoggedModelQuery{Filter: "name = 'a'"}, "[a]"},
		{store.LoggedModelQuery{Filter: "attributes.name != 'a'"}, "[c b]"},
		{store.LoggedModelQuery{Filter: "status = 'READY'"}, ready},
		{store.LoggedModelQuery{Filter: "metrics.acc >= 0.1"}, "[c a]"},
		{store.LoggedModelQuery{Filter: "params.i LIKE '_'"}, "[c a b]"},
		{store.LoggedModelQuery{Filter: "params.`i` = '2'"}, "[c]"},
		{store.LoggedModelQuery{Filter: "name ILIKE 'A%'"}, "[a]"},
		{store.LoggedModelQuery{Filter: "name LIKE 'A%'"}, "[]"},
		{store.LoggedModelQuery{Filter: "metrics.missing > 0"}, "[]"},
		{store.LoggedModelQuery{Filter: "model_type = 'x'"}, "[]"},
		{store.LoggedModelQuery{Filter: "creation_timestamp > 0 AND params.i != '1'"}, "[c b]"},
		{store.LoggedModelQuery{ExperimentIDs: []string{}}, "[]"},
	} {
		if tc.want == "[]" && tc.q.Filter == "status = 'READY'" && opts.StrictSQLTypes {
			_, err := s.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{store.DefaultExperimentID}, Filter: tc.q.Filter})
			wantErr(t, err, store.ErrInvalidParameter, "status = 'READY' on a strictly typed database")
			continue
		}
		if got := lmSearchNames(t, s, tc.q); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.q, got, tc.want)
		}
	}
}

func testLMSearchPaging(t *testing.T, s LMStore, _ Options) {
	lmSearchFixture(t, s)
	var all []string
	q := store.LoggedModelQuery{ExperimentIDs: []string{store.DefaultExperimentID}, MaxResults: 2}
	pages := 0
	for {
		page, err := s.SearchLoggedModels(ctx, q)
		must(t, err, "page")
		pages++
		for _, m := range page.Models {
			all = append(all, m.Name)
		}
		if page.NextPageToken == "" {
			break
		}
		q.PageToken = page.NextPageToken
	}
	if fmt.Sprint(all) != "[c a b]" || pages != 2 {
		t.Errorf("paged %v in %d pages", all, pages)
	}
	// base64 of {}: a token without an offset (the file store) and made
	// for no experiments (the SQL store) is invalid in both MLflow stores.
	_, err := s.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{store.DefaultExperimentID}, PageToken: "e30="})
	wantErr(t, err, store.ErrInvalidParameter, "bad page token")
	// Not base64: MLflow's SQL store fails with an internal error
	// (binascii.Error), its file store with INVALID_PARAMETER_VALUE.
	if _, err := s.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{store.DefaultExperimentID}, PageToken: "not a token"}); err == nil {
		t.Errorf("page token %q accepted", "not a token")
	}
}

func testLMSearchInvalid(t *testing.T, s LMStore, _ Options) {
	for _, f := range []string{"name = 'a' OR name = 'b'", "bogus.x = '1'", "name = 'a"} {
		_, err := s.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{store.DefaultExperimentID}, Filter: f})
		wantErr(t, err, store.ErrInvalidParameter, "filter "+f)
	}
	// An unknown attribute: INVALID_PARAMETER_VALUE in the file store, an
	// internal error (HTTP 500) in MLflow's SQL store.
	if _, err := s.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{store.DefaultExperimentID}, Filter: "foo = 'x'"}); err == nil {
		t.Error("filter foo = 'x' accepted")
	}
	_, err := s.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{store.DefaultExperimentID}, OrderBy: []store.LoggedModelOrderBy{{FieldName: "params.x"}}})
	wantErr(t, err, store.ErrInvalidParameter, "order by params")
}

// testLMConcurrentMetrics appends model metrics from many goroutines:
// none is lost.
func testLMConcurrentMetrics(t *testing.T, s LMStore, opts Options) {
	run := createRun(t, s, store.DefaultExperimentID, "r", 0)
	lm := createLM(t, s, store.CreateLoggedModelRequest{Name: "m"})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				p := store.LoggedModelMetric{Key: "loss", Value: float64(i), Timestamp: int64(g), Step: int64(i), RunID: run.Info.RunID}
				if err := s.LogLoggedModelMetrics(ctx, lm.ModelID, []store.LoggedModelMetric{p}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got := getLM(t, s, lm.ModelID)
	if opts.Metrics == SQLMetrics {
		if len(got.Metrics) != 200 {
			t.Errorf("%d points, want 200", len(got.Metrics))
		}
		return
	}
	if x, ok := got.Metric("loss"); !ok || x.Step != 24 || x.Timestamp != 7 {
		t.Errorf("latest %+v", x)
	}
}

// testLMSameStepAndTime copies to a model, as LogModel does, a run's points
// at a step that include two values of one key at the same timestamp (which
// a run's metrics allow, and MLflow's SQL store cannot hold for a model: its
// primary key has no value): the copy succeeds on every backend, in either
// order, and the model's metric is the larger value, as MLflow's file store
// reads it; a smaller value logged later changes nothing, a larger one
// replaces it (unless Options.ModelPointsFixed).
func testLMSameStepAndTime(t *testing.T, s LMStore, opts Options) {
	run := createRun(t, s, store.DefaultExperimentID, "r", 0)
	rid := run.Info.RunID
	logBatch(t, s, rid, []store.Metric{
		{Key: "loss", Value: 0.5, Timestamp: 10, Step: 1},
		{Key: "loss", Value: 0.6, Timestamp: 10, Step: 1},
		{Key: "loss", Value: 0.5, Timestamp: 10, Step: 1},
		{Key: "acc", Value: 0.9, Timestamp: 10, Step: 1},
	}, nil, nil)
	var pts []store.LoggedModelMetric
	for _, key := range []string{"acc", "loss"} {
		for _, p := range history(t, s, rid, key) {
			pts = append(pts, store.LoggedModelMetric{Key: p.Key, Value: p.Value, Timestamp: p.Timestamp, Step: p.Step, RunID: rid})
		}
	}
	if len(pts) < 3 {
		t.Fatalf("run history %+v: want both loss values", pts)
	}
	wantLoss := func(id string, want float64) {
		t.Helper()
		lm := getLM(t, s, id)
		var losses []float64
		for _, m := range lm.Metrics {
			if m.Key == "loss" {
				losses = append(losses, m.Value)
			}
		}
		if len(losses) != 1 || losses[0] != want {
			t.Errorf("model loss points %v, want [%v] (metrics %s)", losses, want, formatLMMetrics(lm.Metrics))
		}
		if m, ok := lm.Metric("acc"); !ok || m.Value != 0.9 {
			t.Errorf("model acc = %+v, %v", m, ok)
		}
	}
	for _, order := range []string{"logged", "reversed"} {
		lm := createLM(t, s, store.CreateLoggedModelRequest{Name: order, SourceRunID: rid})
		if order == "reversed" {
			slices.Reverse(pts)
		}
		must(t, s.LogLoggedModelMetrics(ctx, lm.ModelID, pts), "LogLoggedModelMetrics, "+order)
		wantLoss(lm.ModelID, 0.6)
		must(t, s.LogLoggedModelMetrics(ctx, lm.ModelID, []store.LoggedModelMetric{{Key: "loss", Value: 0.4, Timestamp: 10, Step: 1, RunID: rid}}), "smaller")
		wantLoss(lm.ModelID, 0.6)
		must(t, s.LogLoggedModelMetrics(ctx, lm.ModelID, []store.LoggedModelMetric{{Key: "loss", Value: 0.7, Timestamp: 10, Step: 1, RunID: rid}}), "larger")
		if opts.ModelPointsFixed {
			wantLoss(lm.ModelID, 0.6)
		} else {
			wantLoss(lm.ModelID, 0.7)
		}
		if got, err := s.FinalizeLoggedModel(ctx, lm.ModelID, store.LoggedModelReady); err != nil || got.Status != store.LoggedModelReady {
			t.Errorf("FinalizeLoggedModel = %v, %v", got, err)
		}
	}
}

// testLMKeyFolders is testKeyFolders for a logged model's params, tags
// and metrics.
func testLMKeyFolders(t *testing.T, s LMStore, opts Options) {
	run := createRun(t, s, store.DefaultExperimentID, "r", 0)
	rid := run.Info.RunID
	nested := []store.Tag{{Key: "a", Value: "1"}, {Key: "a/b", Value: "2"}}
	wantRefused(t, opts, s, "CreateLoggedModel with nested tags", func() error {
		_, err := s.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{Tags: nested})
		return err
	})
	wantRefused(t, opts, s, "CreateLoggedModel with nested params", func() error {
		_, err := s.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{Params: []store.Param{{Key: "p/q", Value: "1"}, {Key: "p", Value: "2"}}})
		return err
	})
	lm := createLM(t, s, store.CreateLoggedModelRequest{Name: "m", SourceRunID: rid})
	wantRefused(t, opts, s, "SetLoggedModelTags with nested tags", func() error { return s.SetLoggedModelTags(ctx, lm.ModelID, nested) })
	wantRefused(t, opts, s, "LogLoggedModelMetrics with nested keys", func() error {
		return s.LogLoggedModelMetrics(ctx, lm.ModelID, []store.LoggedModelMetric{{Key: "m", Value: 1, RunID: rid}, {Key: "m/x", Value: 1, RunID: rid}})
	})
	must(t, s.SetLoggedModelTags(ctx, lm.ModelID, []store.Tag{{Key: "a", Value: "1"}}), "SetLoggedModelTags")
	call := func() error {
		return s.SetLoggedModelTags(ctx, lm.ModelID, []store.Tag{{Key: "c", Value: "1"}, {Key: "a/b", Value: "2"}})
	}
	if opts.Metrics == SQLMetrics {
		must(t, call(), "SQL store: a tag under a tag")
		return
	}
	wantRefused(t, opts, s, "file store: a tag under a tag", call)
	if got := getLM(t, s, lm.ModelID); len(got.Tags) != 1 {
		t.Errorf("refused SetLoggedModelTags left tags %v", got.Tags)
	}
}
