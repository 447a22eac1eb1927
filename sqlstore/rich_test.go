package sqlstore_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// rich describes what writeRich logged.
type rich struct {
	experiments map[string]string // name -> id
	runs        map[string]string // run name -> run id
	points      int               // metric points logged
}

// writeRich logs a store with every feature MLflow users see: experiments
// with tags, deleted and restored experiments and runs, runs in every
// status, NaN, ±Inf, -0.0, 1e-05 and other awkward metric values, negative
// steps, long histories, 6000-character params, 8000-character tags,
// unicode everywhere, and dataset inputs.
func writeRich(t testing.TB, s store.Store) *rich {
	t.Helper()
	out := &rich{experiments: map[string]string{}, runs: map[string]string{}}
	exp := func(name, location string, tags ...store.Tag) string {
		t.Helper()
		id, err := s.CreateExperiment(ctx, name, location, tags)
		must(t, err)
		out.experiments[name] = id
		return id
	}
	run := func(expID, name string, start int64, tags ...store.Tag) string {
		t.Helper()
		r, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: expID, UserID: "ünï user", StartTime: start, RunName: name, Tags: tags})
		must(t, err)
		out.runs[name] = r.Info.RunID
		return r.Info.RunID
	}
	batch := func(runID string, ms []store.Metric, ps []store.Param, ts []store.Tag) {
		t.Helper()
		must(t, s.LogBatch(ctx, runID, ms, ps, ts))
		out.points += len(ms)
	}
	end := func(runID string, st store.RunStatus, at int64) {
		t.Helper()
		_, err := s.UpdateRun(ctx, runID, store.RunUpdate{Status: st, EndTime: &at})
		must(t, err)
	}

	main := exp("rich ✓ ünïcode — 実験", "",
		store.Tag{Key: "mlflow.note.content", Value: "# Notes\n\nmulti-line\n description ✓"},
		store.Tag{Key: "team", Value: "vision"},
		store.Tag{Key: "long", Value: strings.Repeat("ß", store.MaxExperimentTagValLength)},
		store.Tag{Key: "empty", Value: ""})
	must(t, s.SetExperimentTag(ctx, main, store.Tag{Key: "team", Value: "vision-2"}))
	// An explicit location: a file: URI (MLflow keeps it as given).
	located := exp("located", "file://"+t.TempDir()+"/some%20where")
	deleted := exp("deleted experiment", "")
	restored := exp("restored experiment", "")

	// Awkward metric values in one run, with negative and repeated steps.
	values := []float64{
		0, math.Copysign(0, -1), 1e-05, 0.1 + 0.2, 1e16, 1e-300, -2.5, 123456789.125,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1), math.Pi,
	}
	awkward := run(main, "awkward values", 1_700_000_000_000,
		store.Tag{Key: "mlflow.user", Value: "ünï user"}, store.Tag{Key: "mlflow.source.type", Value: "LOCAL"})
	var ms []store.Metric
	for i, v := range values {
		ms = append(ms, store.Metric{Key: "values", Value: v, Timestamp: 1_700_000_000_000 + int64(i), Step: int64(i - 5)})
		ms = append(ms, store.Metric{Key: fmt.Sprintf("single/%02d", i), Value: v, Timestamp: 1_700_000_000_000, Step: -1})
	}
	// Several values at one (timestamp, step).
	ms = append(ms,
		store.Metric{Key: "same point", Value: 3, Timestamp: 5, Step: 5},
		store.Metric{Key: "same point", Value: math.NaN(), Timestamp: 5, Step: 5},
		store.Metric{Key: "same point", Value: 7, Timestamp: 5, Step: 5},
		store.Metric{Key: "same point", Value: -1, Timestamp: 5, Step: 5})
	batch(awkward, ms,
		[]store.Param{
			{Key: "long", Value: strings.Repeat("p", store.MaxParamValueLength)},
			{Key: "long unicode", Value: strings.Repeat("é", store.MaxParamValueLength)},
			{Key: "学习率", Value: "0.001 🎯"},
			{Key: "quotes", Value: `'single' "double" \back`},
			{Key: "empty", Value: ""},
			{Key: "nested/key.with-punct: ok", Value: "yes"},
		},
		[]store.Tag{
			{Key: "long tag", Value: strings.Repeat("t", store.MaxTagValueLength)},
			{Key: "multi", Value: "line one\nline two\n"},
			{Key: "émoji", Value: "👍🏽"},
		})
	end(awkward, store.StatusFinished, 1_700_000_099_000)

	// A long history logged in batches, and point by point.
	long := run(main, "long history", 1_700_000_100_000)
	for b := range 3 {
		var hist []store.Metric
		for i := range 1000 {
			n := b*1000 + i
			hist = append(hist,
				store.Metric{Key: "loss", Value: 1 / float64(n+1), Timestamp: 1_700_000_100_000 + int64(n), Step: int64(n)},
			)
			if i%10 == 0 {
				hist[len(hist)-1].Key = "acc"
			}
		}
		batch(long, hist, nil, nil)
	}
	for i := range 20 {
		batch(long, []store.Metric{{Key: "lr", Value: 0.1 * math.Pow(0.9, float64(i)), Timestamp: 1_700_000_200_000 + int64(i), Step: int64(i)}}, nil, nil)
	}
	end(long, store.StatusRunning, 1) // end time without a status change
	_, err := s.UpdateRun(ctx, long, store.RunUpdate{Status: store.StatusRunning})
	must(t, err)

	// One run per status.
	for i, st := range []store.RunStatus{store.StatusScheduled, store.StatusFailed, store.StatusKilled, store.StatusFinished} {
		id := run(main, "status "+st.String(), 1_700_000_300_000+int64(i))
		batch(id, []store.Metric{{Key: "m", Value: float64(i), Timestamp: 1, Step: 0}}, []store.Param{{Key: "i", Value: fmt.Sprint(i)}}, nil)
		end(id, st, 1_700_000_400_000+int64(i))
	}

	// Renamed through the tag, and through UpdateRun.
	renamed := run(main, "before rename", 1_700_000_500_000)
	batch(renamed, nil, nil, []store.Tag{{Key: "mlflow.runName", Value: "renamed by tag"}})
	renamed2 := run(main, "", 1_700_000_500_001) // generated name
	_, err = s.UpdateRun(ctx, renamed2, store.RunUpdate{RunName: "прогон renamed 🏃"})
	must(t, err)
	out.runs["прогон renamed 🏃"] = renamed2

	// A deleted run, a restored run, a run with a deleted tag.
	gone := run(main, "deleted run", 1_700_000_600_000)
	batch(gone, []store.Metric{{Key: "m", Value: 1, Timestamp: 2, Step: 3}}, nil, nil)
	must(t, s.DeleteRun(ctx, gone))
	back := run(main, "restored run", 1_700_000_600_001)
	must(t, s.DeleteRun(ctx, back))
	must(t, s.RestoreRun(ctx, back))
	tagged := run(main, "deleted tag", 1_700_000_600_002, store.Tag{Key: "keep", Value: "1"}, store.Tag{Key: "drop", Value: "2"})
	must(t, s.DeleteTag(ctx, tagged, "drop"))

	// Datasets.
	withData := run(main, "datasets", 1_700_000_700_000)
	must(t, s.LogInputs(ctx, withData, []store.DatasetInput{
		{
			Dataset: store.Dataset{Name: "train", Digest: "a1b2c3d4", SourceType: "local", Source: `{"uri": "/data/train.csv"}`,
				Schema: `{"mlflow_colspec": [{"type": "double", "name": "x"}]}`, Profile: `{"num_rows": 100}`},
			Tags: []store.Tag{{Key: "mlflow.data.context", Value: "training"}},
		},
		{
			Dataset: store.Dataset{Name: "eval", Digest: "ffff", SourceType: "http", Source: `{"url": "https://example.com/e.csv"}`},
			Tags:    []store.Tag{{Key: "mlflow.data.context", Value: "evaluation"}, {Key: "extra", Value: "ü"}},
		},
		{Dataset: store.Dataset{Name: "untagged", Digest: "0", SourceType: "code", Source: "{}"}},
	}))
	reuse := run(main, "dataset reuse", 1_700_000_700_001)
	must(t, s.LogInputs(ctx, reuse, []store.DatasetInput{{
		Dataset: store.Dataset{Name: "train", Digest: "a1b2c3d4", SourceType: "local", Source: `{"uri": "/data/train.csv"}`},
		Tags:    []store.Tag{{Key: "mlflow.data.context", Value: "testing"}},
	}}))

	// Runs elsewhere: Default experiment, explicit location, deleted and
	// restored experiments.
	run(store.DefaultExperimentID, "in default", 1_700_000_800_000)
	run(located, "located run", 1_700_000_800_001)
	d := run(deleted, "in deleted experiment", 1_700_000_800_002)
	batch(d, []store.Metric{{Key: "m", Value: -1, Timestamp: 9, Step: 9}}, nil, nil)
	must(t, s.DeleteExperiment(ctx, deleted))
	run(restored, "in restored experiment", 1_700_000_800_003)
	must(t, s.DeleteExperiment(ctx, restored))
	must(t, s.RestoreExperiment(ctx, restored))
	return out
}
