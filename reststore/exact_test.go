package reststore_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/reststore"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

// TestExactValues: int64 timestamps and steps beyond 2^53 and doubles at
// the edges (subnormals, the largest double, NaN, ±Inf, -0.0) go through
// the server's JSON and database and come back as MLflow's SQL store keeps
// them, bit for bit.
func TestExactValues(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			s := openFresh(t, v)
			defer s.Close()
			start := int64(1)<<53 + 1
			r, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: "exact", StartTime: start})
			if err != nil {
				t.Fatal(err)
			}
			if r.Info.StartTime != start {
				t.Errorf("start time %d, want %d", r.Info.StartTime, start)
			}
			a, b := 0.1, 0.2
			values := []float64{a + b, 5e-324, 2.2250738585072014e-308, math.MaxFloat64, -math.MaxFloat64,
				1234567890123456789, math.Pi, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1e-310}
			var logged []store.Metric
			for i, x := range values {
				logged = append(logged, store.Metric{Key: "edge", Value: x,
					Timestamp: int64(1)<<62 + int64(i), Step: -(int64(1) << 62) - int64(i)})
			}
			if err := s.LogBatch(ctx, r.Info.RunID, logged, nil, nil); err != nil {
				t.Fatal(err)
			}
			h, err := s.GetMetricHistory(ctx, r.Info.RunID, "edge")
			if err != nil {
				t.Fatal(err)
			}
			want := map[int64]store.Metric{}
			for _, m := range storetest.SQLMetrics.History(logged) {
				want[m.Timestamp] = m
			}
			if len(h) != len(want) {
				t.Fatalf("%d points back, want %d", len(h), len(want))
			}
			for _, m := range h {
				w, ok := want[m.Timestamp]
				if !ok || m.Step != w.Step || math.Float64bits(m.Value) != math.Float64bits(w.Value) && !(math.IsNaN(m.Value) && math.IsNaN(w.Value)) {
					t.Errorf("point %+v (bits %x), logged as %+v (bits %x)", m, math.Float64bits(m.Value), w, math.Float64bits(w.Value))
				}
			}
			// The latest value is the one with the highest step: the first logged.
			got, err := s.GetRun(ctx, r.Info.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if m, ok := got.Metric("edge"); !ok || m.Step != logged[0].Step || m.Value != logged[0].Value || m.Timestamp != logged[0].Timestamp {
				t.Errorf("latest %+v, want %+v", m, logged[0])
			}
		})
	}
}

// TestNoLoggedModelsOnMLflow2: an MLflow 2 server has no logged models;
// the store says so (store.AsLoggedModels is false) and the calls fail
// with ErrInvalidState without reaching for endpoints that do not exist.
func TestNoLoggedModelsOnMLflow2(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			s := openFresh(t, v)
			defer s.Close()
			_, has := store.AsLoggedModels(s)
			if want := !strings.HasPrefix(v, "2."); has != want {
				t.Fatalf("AsLoggedModels = %v, want %v", has, want)
			}
			if has {
				return
			}
			_, err := s.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{Name: "m"})
			if !errors.Is(err, store.ErrInvalidState) {
				t.Errorf("CreateLoggedModel on MLflow 2: %v, want ErrInvalidState", err)
			}
		})
	}
}

// TestHistoryPaging reads a history in pages of 7 points, following the
// server's page tokens (MLflow 3; MLflow 2 answers everything at once),
// and gets the same points as in one page.
func TestHistoryPaging(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			s := openFresh(t, v)
			defer s.Close()
			r, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: "paged"})
			if err != nil {
				t.Fatal(err)
			}
			var logged []store.Metric
			for i := range 50 {
				logged = append(logged, store.Metric{Key: "m", Value: float64(i), Timestamp: int64(i), Step: int64(i % 3)})
			}
			if err := s.LogBatch(ctx, r.Info.RunID, logged, nil, nil); err != nil {
				t.Fatal(err)
			}
			whole, err := s.GetMetricHistory(ctx, r.Info.RunID, "m")
			if err != nil {
				t.Fatal(err)
			}
			before, _ := s.HTTPClient().Stats()
			restore := reststore.SetHistoryPageSize(7)
			paged, err := s.GetMetricHistory(ctx, r.Info.RunID, "m")
			restore()
			if err != nil {
				t.Fatal(err)
			}
			after, _ := s.HTTPClient().Stats()
			if len(whole) != 50 || !slices.Equal(paged, whole) {
				t.Errorf("paged history (%d points) differs from the whole (%d)", len(paged), len(whole))
			}
			if !strings.HasPrefix(v, "2.") && after-before != 8 {
				t.Errorf("%d requests for 50 points in pages of 7, want 8", after-before)
			}
		})
	}
}
