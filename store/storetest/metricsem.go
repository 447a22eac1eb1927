package storetest

import (
	"math"

	"github.com/mlrun-go/mlrun/store"
)

// MetricSemantics names how a backend keeps metric values where MLflow's
// own two stores differ (Options.Metrics): the suite's oracle for what a
// backend reads back. mlrun's backends each follow the MLflow store whose
// format they write, so that MLflow reads the same values through either.
type MetricSemantics int

const (
	// FileMetrics is MLflow's file store: every point is kept as logged
	// (NaN, ±Inf and -0.0 included, duplicates too), and the latest value
	// is chosen by [store.Latest].
	FileMetrics MetricSemantics = iota

	// SQLMetrics is MLflow's SQL store: ±Inf is stored as
	// ±math.MaxFloat64, -0.0 reads back as 0.0, a point equal to a stored
	// one (key, timestamp, step, stored value) is the same row and kept
	// once, and the latest value is the greatest (step, timestamp, value)
	// with NaN compared as 0, replaced only by a strictly greater point.
	SQLMetrics
)

// Stored returns m as the backend reads it back.
func (sem MetricSemantics) Stored(m store.Metric) store.Metric {
	if sem != SQLMetrics {
		return m
	}
	switch {
	case math.IsInf(m.Value, 1):
		m.Value = math.MaxFloat64
	case math.IsInf(m.Value, -1):
		m.Value = -math.MaxFloat64
	case m.Value == 0:
		m.Value = 0 // -0.0 too
	}
	return m
}

// History returns what GetMetricHistory reads back after the points of
// logged were logged in that order.
func (sem MetricSemantics) History(logged []store.Metric) []store.Metric {
	out := make([]store.Metric, 0, len(logged))
	type row struct {
		key      string
		ts, step int64
		value    float64
		nan      bool
	}
	seen := map[row]bool{}
	for _, m := range logged {
		m = sem.Stored(m)
		if sem == SQLMetrics {
			r := row{m.Key, m.Timestamp, m.Step, m.Value, math.IsNaN(m.Value)}
			if r.nan {
				r.value = 0
			}
			if seen[r] {
				continue
			}
			seen[r] = true
		}
		out = append(out, m)
	}
	return out
}

// Latest returns the latest point of a history given in logging order, as
// the backend's MLflow store chooses it.
func (sem MetricSemantics) Latest(logged []store.Metric) (store.Metric, bool) {
	h := sem.History(logged)
	if sem != SQLMetrics {
		return store.Latest(h)
	}
	if len(h) == 0 {
		return store.Metric{}, false
	}
	cmpVal := func(v float64) float64 {
		if math.IsNaN(v) {
			return 0
		}
		return v
	}
	best := h[0]
	for _, m := range h[1:] {
		if m.Step != best.Step {
			if m.Step > best.Step {
				best = m
			}
			continue
		}
		if m.Timestamp != best.Timestamp {
			if m.Timestamp > best.Timestamp {
				best = m
			}
			continue
		}
		if cmpVal(m.Value) > cmpVal(best.Value) {
			best = m
		}
	}
	return best, true
}
