package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

var ctx = context.Background()

// wantErr fails unless err matches kind.
func wantErr(t *testing.T, err, kind error, what string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: err = %v, want %v", what, err, kind)
	}
}

// must fails on a non-nil error.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func createExperiment(t *testing.T, s store.Store, name string, tags ...store.Tag) string {
	t.Helper()
	id, err := s.CreateExperiment(ctx, name, "", tags)
	must(t, err, "CreateExperiment "+name)
	if id == "" {
		t.Fatalf("CreateExperiment %s returned an empty id", name)
	}
	return id
}

func getExperiment(t *testing.T, s store.Store, id string) *store.Experiment {
	t.Helper()
	e, err := s.GetExperiment(ctx, id)
	must(t, err, "GetExperiment "+id)
	return e
}

func createRun(t *testing.T, s store.Store, expID, name string, start int64, tags ...store.Tag) *store.Run {
	t.Helper()
	r, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: expID, UserID: "alice", StartTime: start, RunName: name, Tags: tags})
	must(t, err, "CreateRun")
	return r
}

func getRun(t *testing.T, s store.Store, runID string) *store.Run {
	t.Helper()
	r, err := s.GetRun(ctx, runID)
	must(t, err, "GetRun")
	return r
}

func logBatch(t *testing.T, s store.Store, runID string, metrics []store.Metric, params []store.Param, tags []store.Tag) {
	t.Helper()
	must(t, s.LogBatch(ctx, runID, metrics, params, tags), "LogBatch")
}

func history(t *testing.T, s store.Store, runID, key string) []store.Metric {
	t.Helper()
	h, err := s.GetMetricHistory(ctx, runID, key)
	must(t, err, "GetMetricHistory "+key)
	return h
}

// sameFloat reports whether a and b are the same float64, telling NaN,
// -0.0 and +0.0 apart as a file round trip must.
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b && math.Signbit(a) == math.Signbit(b)
}

func sameMetric(a, b store.Metric) bool {
	return a.Key == b.Key && a.Timestamp == b.Timestamp && a.Step == b.Step && sameFloat(a.Value, b.Value)
}

func formatMetrics(ms []store.Metric) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{%s %v ts=%d step=%d}", m.Key, m.Value, m.Timestamp, m.Step)
	}
	return "[" + b.String() + "]"
}

// wantHistory checks a history read from s against the points logged, in
// logging order (or sorted, if s's Options say the backend sorts).
func wantHistory(t *testing.T, s store.Store, got, want []store.Metric) {
	t.Helper()
	if options(s).SortedHistory {
		want = slices.Clone(want)
		slices.SortStableFunc(want, func(a, b store.Metric) int {
			return cmp.Or(cmp.Compare(a.Timestamp, b.Timestamp), cmp.Compare(a.Step, b.Step), cmp.Compare(a.Value, b.Value))
		})
	}
	if !slices.EqualFunc(got, want, sameMetric) {
		t.Fatalf("history = %s\nwant %s", formatMetrics(got), formatMetrics(want))
	}
}

// wantRunData checks a run's params, tags and latest metrics (metrics by
// key; each want metric must match exactly).
func wantRunData(t *testing.T, r *store.Run, metrics []store.Metric, params map[string]string, tags map[string]string) {
	t.Helper()
	if len(r.Data.Metrics) != len(metrics) {
		t.Errorf("run has metrics %s, want %s", formatMetrics(r.Data.Metrics), formatMetrics(metrics))
	}
	for _, w := range metrics {
		if g, ok := r.Metric(w.Key); !ok || !sameMetric(g, w) {
			t.Errorf("latest %s = %s (present %v), want %s", w.Key, formatMetrics([]store.Metric{g}), ok, formatMetrics([]store.Metric{w}))
		}
	}
	if params != nil {
		got := map[string]string{}
		for _, p := range r.Data.Params {
			got[p.Key] = p.Value
		}
		if !mapsEqual(got, params) {
			t.Errorf("params = %v, want %v", got, params)
		}
	}
	if tags != nil {
		got := map[string]string{}
		for _, tg := range r.Data.Tags {
			got[tg.Key] = tg.Value
		}
		if !mapsEqual(got, tags) {
			t.Errorf("tags = %v, want %v", got, tags)
		}
	}
	if !slices.IsSortedFunc(r.Data.Metrics, func(a, b store.Metric) int { return strings.Compare(a.Key, b.Key) }) ||
		!slices.IsSortedFunc(r.Data.Params, func(a, b store.Param) int { return strings.Compare(a.Key, b.Key) }) ||
		!slices.IsSortedFunc(r.Data.Tags, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) }) {
		t.Errorf("run data not sorted by key: %+v", r.Data)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// allRuns pages through SearchRuns and returns every run.
func allRuns(t *testing.T, s store.Store, q store.RunQuery) []*store.Run {
	t.Helper()
	var out []*store.Run
	for i := 0; ; i++ {
		p, err := s.SearchRuns(ctx, q)
		must(t, err, "SearchRuns")
		out = append(out, p.Runs...)
		if p.NextPageToken == "" {
			return out
		}
		if i > 10000 {
			t.Fatal("SearchRuns: too many pages")
		}
		q.PageToken = p.NextPageToken
	}
}

func runIDs(rs []*store.Run) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.Info.RunID
	}
	return ids
}

func experimentIDs(es []*store.Experiment) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}
