package mlplot

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// MetricHistory plots the history of a run's metrics, as MLflow's UI
// charts them: one line per key, value against step, the points of a step
// in timestamp order. NaN and ±Inf points are left out (gonum/plot cannot
// draw them). A key with no point is ErrInvalidParameter.
func MetricHistory(ctx context.Context, c *mlrun.Client, runID string, keys ...string) (*plot.Plot, error) {
	if len(keys) == 0 {
		return nil, store.Invalidf("plot metric history: no metric keys")
	}
	p := plot.New()
	p.X.Label.Text = "step"
	p.Y.Label.Text = "value"
	if len(keys) == 1 {
		p.Title.Text = keys[0]
	}
	var lines []any
	for _, key := range keys {
		hist, err := c.GetMetricHistory(ctx, runID, key)
		if err != nil {
			return nil, fmt.Errorf("plot metric history %s: %w", key, err)
		}
		if len(hist) == 0 {
			return nil, store.Invalidf("plot metric history: run %s has no metric %q", runID, key)
		}
		slices.SortStableFunc(hist, func(a, b store.Metric) int {
			return cmp.Or(cmp.Compare(a.Step, b.Step), cmp.Compare(a.Timestamp, b.Timestamp))
		})
		xys := make(plotter.XYs, 0, len(hist))
		for _, m := range hist {
			if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
				xys = append(xys, plotter.XY{X: float64(m.Step), Y: m.Value})
			}
		}
		lines = append(lines, key, xys)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, fmt.Errorf("plot metric history: %w", err)
	}
	if len(keys) == 1 {
		p.Legend = plot.NewLegend() // the title names the one metric
	}
	return p, nil
}

// LogMetricHistory plots the history of run's metrics with [MetricHistory]
// and logs the figure as artifactFile with [LogFigure].
func LogMetricHistory(ctx context.Context, c *mlrun.Client, run *mlrun.Run, artifactFile string, keys []string, opts ...Option) error {
	if run == nil {
		return store.Invalidf("log metric history: the run must not be nil")
	}
	p, err := MetricHistory(ctx, c, run.ID(), keys...)
	if err != nil {
		return err
	}
	return LogFigure(ctx, run, p, artifactFile, opts...)
}
