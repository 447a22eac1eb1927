package storetest

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

func testLogMetrics(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "metrics", 0)
	values := []float64{
		0, math.Copysign(0, -1), 1, -1, 0.5, 1e-05, 1e-4, 0.1 + 0.2, 1e15, 1e16, 1234567890123456789,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 3.141592653589793,
	}
	var logged []store.Metric
	for i, v := range values {
		logged = append(logged, store.Metric{Key: "values", Value: v, Timestamp: int64(1000 + i), Step: int64(i - 5)})
	}
	logBatch(t, s, r.Info.RunID, logged, nil, nil)
	sem := semantics(s)
	wantHistory(t, s, history(t, s, r.Info.RunID, "values"), sem.History(logged))

	// Several keys, nested keys and negative steps in one batch.
	batch := []store.Metric{
		{Key: "loss", Value: 0.9, Timestamp: 10, Step: -3},
		{Key: "train/acc", Value: 0.1, Timestamp: 11, Step: 0},
		{Key: "loss", Value: 0.8, Timestamp: 12, Step: -2},
		{Key: "train/acc", Value: 0.2, Timestamp: 13, Step: 1},
		{Key: "a.b-c d:e", Value: 7, Timestamp: 0, Step: 0},
	}
	logBatch(t, s, r.Info.RunID, batch, nil, nil)
	wantHistory(t, s, history(t, s, r.Info.RunID, "loss"), []store.Metric{batch[0], batch[2]})
	wantHistory(t, s, history(t, s, r.Info.RunID, "train/acc"), []store.Metric{batch[1], batch[3]})
	latestValues, _ := sem.Latest(logged)
	wantRunData(t, getRun(t, s, r.Info.RunID),
		[]store.Metric{latestValues, batch[2], batch[3], batch[4]}, map[string]string{}, nil)

	// A negative timestamp is invalid.
	err := s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "neg", Value: 1, Timestamp: -1}}, nil, nil)
	wantErr(t, err, store.ErrInvalidParameter, "metric with a negative timestamp")
}

func testLatestMetric(t *testing.T, s store.Store) {
	nan := math.NaN()
	for i, tc := range []struct {
		name    string
		history []store.Metric // Key is filled in
		want    store.Metric
	}{
		{"higher step wins over later timestamp", []store.Metric{{Value: 1, Timestamp: 10, Step: 2}, {Value: 2, Timestamp: 20, Step: 1}}, store.Metric{Value: 1, Timestamp: 10, Step: 2}},
		{"same step: later timestamp wins", []store.Metric{{Value: 5, Timestamp: 20, Step: 1}, {Value: 9, Timestamp: 10, Step: 1}}, store.Metric{Value: 5, Timestamp: 20, Step: 1}},
		{"same step and timestamp: larger value wins", []store.Metric{{Value: 1, Timestamp: 10, Step: 1}, {Value: 3, Timestamp: 10, Step: 1}, {Value: 2, Timestamp: 10, Step: 1}}, store.Metric{Value: 3, Timestamp: 10, Step: 1}},
		{"exact tie: first logged stays", []store.Metric{{Value: 0, Timestamp: 10, Step: 1}, {Value: math.Copysign(0, -1), Timestamp: 10, Step: 1}}, store.Metric{Value: 0, Timestamp: 10, Step: 1}},
		{"NaN first is not replaced on a tie", []store.Metric{{Value: nan, Timestamp: 10, Step: 1}, {Value: 1, Timestamp: 10, Step: 1}}, store.Metric{Value: nan, Timestamp: 10, Step: 1}},
		{"NaN later does not replace on a tie", []store.Metric{{Value: 1, Timestamp: 10, Step: 1}, {Value: nan, Timestamp: 10, Step: 1}}, store.Metric{Value: 1, Timestamp: 10, Step: 1}},
		{"NaN at a higher step wins", []store.Metric{{Value: 1, Timestamp: 10, Step: 1}, {Value: nan, Timestamp: 5, Step: 2}}, store.Metric{Value: nan, Timestamp: 5, Step: 2}},
		{"+Inf on a tie wins", []store.Metric{{Value: 1, Timestamp: 10, Step: 1}, {Value: math.Inf(1), Timestamp: 10, Step: 1}}, store.Metric{Value: math.Inf(1), Timestamp: 10, Step: 1}},
		{"negative steps", []store.Metric{{Value: 1, Timestamp: 10, Step: -1}, {Value: 2, Timestamp: 20, Step: -5}}, store.Metric{Value: 1, Timestamp: 10, Step: -1}},
		{"single point", []store.Metric{{Value: -0.5, Timestamp: 0, Step: 0}}, store.Metric{Value: -0.5, Timestamp: 0, Step: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("m%d", i)
			h := make([]store.Metric, len(tc.history))
			for j, m := range tc.history {
				m.Key = key
				h[j] = m
			}
			want := tc.want
			want.Key = key
			if got, _ := store.Latest(h); !sameMetric(got, want) {
				t.Fatalf("test table disagrees with store.Latest: %s", formatMetrics([]store.Metric{got}))
			}
			// A SQL-semantics backend follows MLflow's SQL store instead.
			want, _ = semantics(s).Latest(h)
			r := createRun(t, s, store.DefaultExperimentID, "", 0)
			// Log point by point, as separate calls.
			for _, m := range h {
				logBatch(t, s, r.Info.RunID, []store.Metric{m}, nil, nil)
			}
			got, ok := getRun(t, s, r.Info.RunID).Metric(key)
			if !ok || !sameMetric(got, want) {
				t.Errorf("latest = %s (present %v), want %s", formatMetrics([]store.Metric{got}), ok, formatMetrics([]store.Metric{want}))
			}
		})
	}
}

func testGetMetricHistory(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "", 0)
	h := history(t, s, r.Info.RunID, "never logged")
	if len(h) != 0 {
		t.Errorf("history of an unknown key = %v", h)
	}
	var want []store.Metric
	for i := range 50 {
		// Steps and timestamps out of order: history keeps logging order.
		m := store.Metric{Key: "h", Value: float64(i) / 3, Timestamp: int64((i * 7919) % 50), Step: int64((i*31)%17 - 8)}
		want = append(want, m)
	}
	logBatch(t, s, r.Info.RunID, want[:20], nil, nil)
	for _, m := range want[20:] {
		logBatch(t, s, r.Info.RunID, []store.Metric{m}, nil, nil)
	}
	wantHistory(t, s, history(t, s, r.Info.RunID, "h"), want)
	// Duplicate points are all kept (file semantics) or kept once (SQL).
	logBatch(t, s, r.Info.RunID, []store.Metric{want[0], want[0]}, nil, nil)
	all := semantics(s).History(append(want, want[0], want[0]))
	if got := history(t, s, r.Info.RunID, "h"); len(got) != len(all) {
		t.Errorf("history has %d points after logging 52, want %d", len(got), len(all))
	}
	_, err := s.GetMetricHistory(ctx, r.Info.RunID, "../x")
	wantErr(t, err, store.ErrInvalidParameter, "GetMetricHistory with a bad key")
}

func testParamsImmutable(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "", 0)
	logBatch(t, s, r.Info.RunID, nil, []store.Param{{Key: "lr", Value: "0.1"}, {Key: "nested/p", Value: "x"}, {Key: "empty", Value: ""}}, nil)
	// The same value again is a no-op.
	logBatch(t, s, r.Info.RunID, nil, []store.Param{{Key: "lr", Value: "0.1"}, {Key: "empty", Value: ""}}, nil)
	err := s.LogBatch(ctx, r.Info.RunID, nil, []store.Param{{Key: "lr", Value: "0.2"}}, nil)
	wantErr(t, err, store.ErrInvalidParameter, "changing a param")
	if !strings.Contains(err.Error(), "Changing param values is not allowed") {
		t.Errorf("error message %q lacks MLflow's wording", err)
	}
	err = s.LogBatch(ctx, r.Info.RunID, nil, []store.Param{{Key: "empty", Value: "now set"}}, nil)
	wantErr(t, err, store.ErrInvalidParameter, "changing an empty param")
	wantRunData(t, getRun(t, s, r.Info.RunID), nil, map[string]string{"lr": "0.1", "nested/p": "x", "empty": ""}, nil)
}

func testParamValueLength(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "", 0)
	long := strings.Repeat("é", store.MaxParamValueLength) // characters, not bytes
	logBatch(t, s, r.Info.RunID, nil, []store.Param{{Key: "long", Value: long}}, nil)
	err := s.LogBatch(ctx, r.Info.RunID, nil, []store.Param{{Key: "too long", Value: long + "x"}}, nil)
	wantErr(t, err, store.ErrInvalidParameter, "6001-character param")
	wantRunData(t, getRun(t, s, r.Info.RunID), nil, map[string]string{"long": long}, nil)
}

func testTagsOverwrite(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "t", 0)
	logBatch(t, s, r.Info.RunID, nil, nil, []store.Tag{{Key: "k", Value: "1"}, {Key: "n/k", Value: "x"}})
	logBatch(t, s, r.Info.RunID, nil, nil, []store.Tag{{Key: "k", Value: "2"}})
	logBatch(t, s, r.Info.RunID, nil, nil, []store.Tag{{Key: "k", Value: "3"}, {Key: "empty", Value: ""}})
	long := strings.Repeat("t", store.MaxTagValueLength)
	logBatch(t, s, r.Info.RunID, nil, nil, []store.Tag{{Key: "long", Value: long}})
	err := s.LogBatch(ctx, r.Info.RunID, nil, nil, []store.Tag{{Key: "too long", Value: long + "t"}})
	wantErr(t, err, store.ErrInvalidParameter, "8001-character tag")
	wantRunData(t, getRun(t, s, r.Info.RunID), nil, nil,
		map[string]string{"k": "3", "n/k": "x", "empty": "", "long": long, "mlflow.runName": "t"})
}

func manyMetrics(n int, key string) []store.Metric {
	ms := make([]store.Metric, n)
	for i := range ms {
		ms[i] = store.Metric{Key: key, Value: float64(i), Timestamp: int64(i), Step: int64(i)}
	}
	return ms
}

func manyParams(n int) []store.Param {
	ps := make([]store.Param, n)
	for i := range ps {
		ps[i] = store.Param{Key: fmt.Sprintf("p%03d", i), Value: "v"}
	}
	return ps
}

func manyTags(n int) []store.Tag {
	ts := make([]store.Tag, n)
	for i := range ts {
		ts[i] = store.Tag{Key: fmt.Sprintf("t%03d", i), Value: "v"}
	}
	return ts
}

func testBatchLimits(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "limits", 0)
	for _, tc := range []struct {
		name    string
		metrics []store.Metric
		params  []store.Param
		tags    []store.Tag
	}{
		{"1001 metrics", manyMetrics(1001, "m"), nil, nil},
		{"101 params", nil, manyParams(101), nil},
		{"101 tags", nil, nil, manyTags(101)},
		{"1001 entities", manyMetrics(901, "m"), manyParams(100), nil},
	} {
		err := s.LogBatch(ctx, r.Info.RunID, tc.metrics, tc.params, tc.tags)
		wantErr(t, err, store.ErrInvalidParameter, tc.name)
	}
	wantRunData(t, getRun(t, s, r.Info.RunID), nil, map[string]string{}, map[string]string{"mlflow.runName": "limits"})
	// Exactly at the limits is fine.
	logBatch(t, s, r.Info.RunID, manyMetrics(1000, "m"), nil, nil)
	logBatch(t, s, r.Info.RunID, manyMetrics(800, "n"), manyParams(100), manyTags(100))
	got := getRun(t, s, r.Info.RunID)
	if len(got.Data.Params) != 100 || len(got.Data.Tags) != 101 || len(history(t, s, r.Info.RunID, "m")) != 1000 {
		t.Errorf("after full batches: %d params, %d tags, %d points", len(got.Data.Params), len(got.Data.Tags), len(history(t, s, r.Info.RunID, "m")))
	}
}

func testDuplicateParamKeys(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "dups", 0)
	for _, ps := range [][]store.Param{
		{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}},
		{{Key: "a", Value: "1"}, {Key: "b", Value: "1"}, {Key: "a", Value: "1"}},
	} {
		err := s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "m", Value: 1}}, ps, []store.Tag{{Key: "t", Value: "v"}})
		wantErr(t, err, store.ErrInvalidParameter, "duplicate param keys")
	}
	wantRunData(t, getRun(t, s, r.Info.RunID), nil, map[string]string{}, map[string]string{"mlflow.runName": "dups"})
}

// badKeys are names MLflow rejects for metrics, params and tags.
var badKeys = []string{
	"", "../x", "/abs", "a/../../b", "a//b", "a/", "./a", "..x", "bad~key", "x\ty", "semi;colon", "back\\slash", "nul\x00",
	strings.Repeat("k", store.MaxEntityKeyLength+1),
}

func testBadKeys(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "keys", 0)
	good := []store.Metric{{Key: "good", Value: 1}}
	for _, k := range badKeys {
		err := s.LogBatch(ctx, r.Info.RunID, append(good, store.Metric{Key: k, Value: 1}), nil, nil)
		wantErr(t, err, store.ErrInvalidParameter, fmt.Sprintf("metric key %q", trunc(k)))
		err = s.LogBatch(ctx, r.Info.RunID, good, []store.Param{{Key: k, Value: "v"}}, nil)
		wantErr(t, err, store.ErrInvalidParameter, fmt.Sprintf("param key %q", trunc(k)))
		err = s.LogBatch(ctx, r.Info.RunID, good, nil, []store.Tag{{Key: k, Value: "v"}})
		wantErr(t, err, store.ErrInvalidParameter, fmt.Sprintf("tag key %q", trunc(k)))
		if k != "" {
			_, err = s.GetMetricHistory(ctx, r.Info.RunID, k)
			wantErr(t, err, store.ErrInvalidParameter, fmt.Sprintf("GetMetricHistory key %q", trunc(k)))
		}
	}
	wantRunData(t, getRun(t, s, r.Info.RunID), nil, map[string]string{}, map[string]string{"mlflow.runName": "keys"})
	// The longest allowed key and the allowed punctuation are fine.
	ok := strings.Repeat("k", store.MaxEntityKeyLength)
	logBatch(t, s, r.Info.RunID, []store.Metric{{Key: ok, Value: 1}, {Key: "a-b_c.d e:f/g", Value: 2}},
		[]store.Param{{Key: ok, Value: "v"}}, []store.Tag{{Key: ok, Value: "v"}})
}

func testNothingWrittenOnFailure(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "atomic", 0)
	logBatch(t, s, r.Info.RunID, nil, []store.Param{{Key: "fixed", Value: "1"}}, nil)
	err := s.LogBatch(ctx, r.Info.RunID,
		[]store.Metric{{Key: "m", Value: 1, Timestamp: 1, Step: 1}},
		[]store.Param{{Key: "new", Value: "n"}, {Key: "fixed", Value: "2"}},
		[]store.Tag{{Key: "t", Value: "v"}, {Key: "mlflow.runName", Value: "renamed"}})
	wantErr(t, err, store.ErrInvalidParameter, "batch with a changed param")
	got := getRun(t, s, r.Info.RunID)
	wantRunData(t, got, nil, map[string]string{"fixed": "1"}, map[string]string{"mlflow.runName": "atomic"})
	if got.Info.RunName != "atomic" {
		t.Errorf("run renamed to %q by a failed batch", got.Info.RunName)
	}
	if h := history(t, s, r.Info.RunID, "m"); len(h) != 0 {
		t.Errorf("failed batch logged %s", formatMetrics(h))
	}
}

func testLogToDeletedRun(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "deleted", 0)
	must(t, s.DeleteRun(ctx, r.Info.RunID), "DeleteRun")
	for name, err := range map[string]error{
		"metric": s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "m", Value: 1}}, nil, nil),
		"param":  s.LogBatch(ctx, r.Info.RunID, nil, []store.Param{{Key: "p", Value: "1"}}, nil),
		"tag":    s.LogBatch(ctx, r.Info.RunID, nil, nil, []store.Tag{{Key: "t", Value: "1"}}),
	} {
		wantErr(t, err, store.ErrInvalidState, "logging a "+name+" to a deleted run")
	}
	wantRunData(t, getRun(t, s, r.Info.RunID), nil, map[string]string{}, map[string]string{"mlflow.runName": "deleted"})
}

func testLogToFinishedRun(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "finished", 0)
	end := store.NowMillis()
	_, err := s.UpdateRun(ctx, r.Info.RunID, store.RunUpdate{Status: store.StatusFinished, EndTime: &end})
	must(t, err, "UpdateRun")
	logBatch(t, s, r.Info.RunID, []store.Metric{{Key: "late", Value: 1, Timestamp: 1, Step: 0}}, []store.Param{{Key: "p", Value: "v"}}, nil)
	got := getRun(t, s, r.Info.RunID)
	wantRunData(t, got, []store.Metric{{Key: "late", Value: 1, Timestamp: 1, Step: 0}}, map[string]string{"p": "v"}, nil)
	if got.Info.Status != store.StatusFinished {
		t.Errorf("status = %v after logging, want FINISHED", got.Info.Status)
	}
}

func testEmptyBatch(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "empty", 0)
	logBatch(t, s, r.Info.RunID, nil, nil, nil)
	logBatch(t, s, r.Info.RunID, []store.Metric{}, []store.Param{}, []store.Tag{})
	wantRunData(t, getRun(t, s, r.Info.RunID), nil, map[string]string{}, map[string]string{"mlflow.runName": "empty"})
}

func testLogInputs(t *testing.T, s store.Store) {
	exp := createExperiment(t, s, "inputs")
	r := createRun(t, s, exp, "", 0)
	train := store.DatasetInput{
		Dataset: store.Dataset{Name: "train", Digest: "d1", SourceType: "local", Source: `{"uri": "/data/train.csv"}`, Schema: `{"mlflow_colspec": []}`, Profile: `{"num_rows": 10}`},
		Tags:    []store.Tag{{Key: "mlflow.data.context", Value: "training"}},
	}
	eval := store.DatasetInput{
		Dataset: store.Dataset{Name: "eval", Digest: "d2", SourceType: "http", Source: `{"url": "https://x/y"}`},
	}
	must(t, s.LogInputs(ctx, r.Info.RunID, []store.DatasetInput{train}), "LogInputs")
	check := func(want ...store.DatasetInput) {
		t.Helper()
		got := getRun(t, s, r.Info.RunID).Inputs
		if len(got) != len(want) {
			t.Fatalf("inputs = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].Dataset != want[i].Dataset || fmt.Sprint(got[i].Tags) != fmt.Sprint(want[i].Tags) {
				t.Errorf("input %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	}
	check(train)
	// Logging the same dataset again adds nothing.
	must(t, s.LogInputs(ctx, r.Info.RunID, []store.DatasetInput{train}), "LogInputs again")
	check(train)
	must(t, s.LogInputs(ctx, r.Info.RunID, []store.DatasetInput{eval, train}), "LogInputs two")
	check(eval, train) // sorted by name
	// Another run may use the same dataset.
	r2 := createRun(t, s, exp, "", 0)
	must(t, s.LogInputs(ctx, r2.Info.RunID, []store.DatasetInput{train}), "LogInputs other run")
	if got := getRun(t, s, r2.Info.RunID).Inputs; len(got) != 1 || got[0].Dataset != train.Dataset {
		t.Errorf("second run inputs = %+v", got)
	}
	bad := train
	bad.Dataset.Name = ""
	wantErr(t, s.LogInputs(ctx, r.Info.RunID, []store.DatasetInput{bad}), store.ErrInvalidParameter, "dataset without a name")
	must(t, s.LogInputs(ctx, r.Info.RunID, nil), "LogInputs(nil)")
	must(t, s.DeleteRun(ctx, r2.Info.RunID), "DeleteRun")
	wantErr(t, s.LogInputs(ctx, r2.Info.RunID, []store.DatasetInput{eval}), store.ErrInvalidState, "LogInputs to a deleted run")
}

func testUnicode(t *testing.T, s store.Store) {
	exp := createExperiment(t, s, "実験 ✓ — ünïcødé", store.Tag{Key: "チーム", Value: "視覚 🚀"})
	r := createRun(t, s, exp, "прогон-1 🏃", 0, store.Tag{Key: "タグ", Value: "値\nwith newline"})
	logBatch(t, s, r.Info.RunID,
		[]store.Metric{{Key: "損失", Value: 0.25, Timestamp: 1, Step: 2}, {Key: "ακρίβεια/top-1", Value: 0.75, Timestamp: 1, Step: 2}},
		[]store.Param{{Key: "学习率", Value: "0.001 🎯"}, {Key: "quote", Value: `'single' "double" \back`}, {Key: "yaml-ish", Value: "yes: no\n- null"}},
		[]store.Tag{{Key: "émoji", Value: "👍🏽"}})
	got := getRun(t, s, r.Info.RunID)
	if got.Info.RunName != "прогон-1 🏃" {
		t.Errorf("run name = %q", got.Info.RunName)
	}
	wantRunData(t, got,
		[]store.Metric{{Key: "損失", Value: 0.25, Timestamp: 1, Step: 2}, {Key: "ακρίβεια/top-1", Value: 0.75, Timestamp: 1, Step: 2}},
		map[string]string{"学习率": "0.001 🎯", "quote": `'single' "double" \back`, "yaml-ish": "yes: no\n- null"},
		map[string]string{"タグ": "値\nwith newline", "émoji": "👍🏽", "mlflow.runName": "прогон-1 🏃"})
	e, err := s.GetExperimentByName(ctx, "実験 ✓ — ünïcødé")
	must(t, err, "GetExperimentByName(unicode)")
	if e.ID != exp || e.Tags["チーム"] != "視覚 🚀" {
		t.Errorf("experiment = %+v", e)
	}
	wantHistory(t, s, history(t, s, r.Info.RunID, "損失"), []store.Metric{{Key: "損失", Value: 0.25, Timestamp: 1, Step: 2}})
	// YAML-special names survive the metadata round trip.
	for _, name := range []string{"yes", "null", "0", "1e3", "2024-01-01", "~", "- x", "a: b", "#c", "'q'", " lead", "trail "} {
		id := createExperiment(t, s, name)
		if got := getExperiment(t, s, id).Name; got != name {
			t.Errorf("experiment name %q came back as %q", name, got)
		}
		r := createRun(t, s, id, name, 0)
		if got := getRun(t, s, r.Info.RunID).Info.RunName; got != name {
			t.Errorf("run name %q came back as %q", name, got)
		}
	}
}

func testConcurrentLogging(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "busy", 0)
	const workers, points = 8, 150
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range points {
				m := store.Metric{Key: "shared", Value: float64(w*points + i), Timestamp: int64(i), Step: int64(w*points + i)}
				own := store.Metric{Key: fmt.Sprintf("own/%d", w), Value: float64(i), Timestamp: int64(i), Step: int64(i)}
				var params []store.Param
				if i%10 == 0 {
					params = []store.Param{{Key: fmt.Sprintf("p%d_%d", w, i), Value: "v"}, {Key: "common", Value: "same"}}
				}
				tags := []store.Tag{{Key: fmt.Sprintf("t%d", w), Value: fmt.Sprint(i)}}
				if err := s.LogBatch(ctx, r.Info.RunID, []store.Metric{m, own}, params, tags); err != nil {
					t.Errorf("worker %d point %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	h := history(t, s, r.Info.RunID, "shared")
	if len(h) != workers*points {
		t.Errorf("shared history has %d points, want %d", len(h), workers*points)
	}
	seen := map[int64]bool{}
	for _, m := range h {
		if seen[m.Step] || m.Value != float64(m.Step) {
			t.Fatalf("duplicate or garbled point %s", formatMetrics([]store.Metric{m}))
		}
		seen[m.Step] = true
	}
	got := getRun(t, s, r.Info.RunID)
	for w := range workers {
		oh := history(t, s, r.Info.RunID, fmt.Sprintf("own/%d", w))
		if len(oh) != points {
			t.Errorf("own/%d has %d points", w, len(oh))
		}
		for i, m := range oh {
			if m.Step != int64(i) {
				t.Fatalf("own/%d point %d has step %d: one goroutine's points out of order", w, i, m.Step)
			}
		}
		if v, _ := got.Tag(fmt.Sprintf("t%d", w)); v != fmt.Sprint(points-1) {
			t.Errorf("tag t%d = %q, want %d", w, v, points-1)
		}
	}
	if len(got.Data.Params) != workers*points/10+1 {
		t.Errorf("%d params, want %d", len(got.Data.Params), workers*points/10+1)
	}
}

// testKeyFolders checks keys of which one is a folder of another ("loss"
// and "loss/val"), which the file store cannot hold side by side (it keeps
// each key as a file path; MLflow's FileStore fails half way through such a
// request): in one request every backend refuses them, with nothing
// written; across requests the file store refuses the second request
// whole, while the SQL store, like MLflow's, accepts it.
func testKeyFolders(t *testing.T, s store.Store) {
	opts := options(s)
	exp := createExperiment(t, s, "folders")
	r := createRun(t, s, exp, "r", 0)
	rid := r.Info.RunID
	for _, tc := range []struct {
		name    string
		metrics []store.Metric
		params  []store.Param
		tags    []store.Tag
	}{
		{"metrics", []store.Metric{{Key: "loss", Value: 1}, {Key: "ok", Value: 1}, {Key: "loss/val/x", Value: 2}}, nil, nil},
		{"params", nil, []store.Param{{Key: "lr/decay", Value: "1"}, {Key: "lr", Value: "2"}}, nil},
		{"tags", nil, nil, []store.Tag{{Key: "a/b", Value: "1"}, {Key: "a", Value: "2"}}},
	} {
		wantRefused(t, opts, s, "LogBatch with nested "+tc.name, func() error { return s.LogBatch(ctx, rid, tc.metrics, tc.params, tc.tags) })
	}
	nested := []store.Tag{{Key: "a", Value: "1"}, {Key: "a/b", Value: "2"}}
	wantRefused(t, opts, s, "CreateRun with nested tags", func() error {
		_, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: exp, Tags: nested})
		return err
	})
	wantRefused(t, opts, s, "CreateExperiment with nested tags", func() error { _, err := s.CreateExperiment(ctx, "nested", "", nested); return err })

	// Across requests.
	logBatch(t, s, rid, []store.Metric{{Key: "loss", Value: 1, Timestamp: 1}}, []store.Param{{Key: "lr", Value: "1"}}, []store.Tag{{Key: "deep/x", Value: "1"}})
	for _, tc := range []struct {
		name    string
		metrics []store.Metric
		params  []store.Param
		tags    []store.Tag
	}{
		{"metric under a metric", []store.Metric{{Key: "ok", Value: 1, Timestamp: 2}, {Key: "loss/val", Value: 2, Timestamp: 2}}, nil, nil},
		{"param under a param", []store.Metric{{Key: "ok", Value: 1, Timestamp: 2}}, []store.Param{{Key: "lr/decay", Value: "1"}}, nil},
		{"tag that is a folder", []store.Metric{{Key: "ok", Value: 1, Timestamp: 2}}, nil, []store.Tag{{Key: "fine", Value: "1"}, {Key: "deep", Value: "2"}}},
	} {
		call := func() error { return s.LogBatch(ctx, rid, tc.metrics, tc.params, tc.tags) }
		if semantics(s) == SQLMetrics {
			must(t, call(), "SQL store: LogBatch with a "+tc.name)
			continue
		}
		wantRefused(t, opts, s, "file store: LogBatch with a "+tc.name, call)
	}
	if semantics(s) != SQLMetrics {
		if h := history(t, s, rid, "ok"); len(h) != 0 {
			t.Errorf("refused batches logged %s", formatMetrics(h))
		}
	}
}
