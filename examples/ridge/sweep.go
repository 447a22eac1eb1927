package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

const (
	experimentName = "ridge-sweep"
	epochs         = 100
	learningRate   = 0.05
)

var alphas = []float64{0, 0.001, 0.01, 0.03, 0.1, 0.3, 1}

// result is one child run's outcome.
type result struct {
	alpha float64
	rmse  float64
	runID string
	model *model // the trained model, logged for the best run
}

// run performs the sweep into the store named by uri ("" for the
// environment or MLflow's default) and prints how to look at it.
func run(ctx context.Context, out io.Writer, uri string) (err error) {
	var opts []mlrun.Option
	if uri != "" {
		opts = append(opts, mlrun.WithTrackingURI(uri))
	}
	c, err := mlrun.Open(ctx, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	exp, err := c.SetExperiment(ctx, experimentName)
	if err != nil {
		return err
	}

	train, valid := makeData(60, 30, 42)
	parent, err := c.StartRun(ctx, mlrun.WithRunName("alpha-sweep"),
		mlrun.WithDescription("Ridge regression: sweep of the L2 strength alpha, one nested run per value."))
	if err != nil {
		return err
	}
	defer parent.End(ctx, mlrun.OnError(&err))
	if err := parent.LogParams(ctx, map[string]any{
		"model": "ridge", "epochs": epochs, "learning_rate": learningRate,
		"n_train": len(train.y), "n_valid": len(valid.y), "n_features": len(train.x[0]),
	}); err != nil {
		return err
	}
	ds := store.Dataset{
		Name: "synthetic-regression", Digest: "seed42-n60-d30", SourceType: "code",
		Source: `{"generator": "examples/ridge makeData", "seed": 42}`,
	}
	if err := parent.LogInput(ctx, ds, mlrun.WithInputContext("training")); err != nil {
		return err
	}

	var results []result
	for _, alpha := range alphas {
		r, err := trainOne(ctx, c, parent, train, valid, alpha)
		if err != nil {
			return err
		}
		results = append(results, r)
		fmt.Fprintf(out, "alpha=%-6g valid_rmse=%.4f run=%s\n", r.alpha, r.rmse, r.runID)
	}

	best := results[0]
	for _, r := range results[1:] {
		if r.rmse < best.rmse {
			best = r
		}
	}
	if err := parent.LogParam(ctx, "best_alpha", best.alpha); err != nil {
		return err
	}
	if err := parent.LogMetric(ctx, "best_valid_rmse", best.rmse); err != nil {
		return err
	}
	if err := parent.SetTag(ctx, "best_run_id", best.runID); err != nil {
		return err
	}
	if err := c.SetRunTag(ctx, best.runID, "best", "true"); err != nil {
		return err
	}
	rows := make([][]any, len(results))
	for i, r := range results {
		rows[i] = []any{r.alpha, r.rmse, r.runID}
	}
	if err := parent.LogTable(ctx, []string{"alpha", "valid_rmse", "run_id"}, rows, "sweep.json"); err != nil {
		return err
	}
	if err := parent.LogImage(ctx, plotSweep(results), "plots/valid_rmse_vs_alpha.png"); err != nil {
		return err
	}
	fmt.Fprintf(out, "best alpha=%g valid_rmse=%.4f (run %s) in experiment %q (id %s)\n",
		best.alpha, best.rmse, best.runID, exp.Name, exp.ID)
	mv, err := registerBest(ctx, c, best)
	if err != nil {
		return err
	}
	if mv != nil {
		fmt.Fprintf(out, "registered model %q version %d: stage %s, alias @%s (models:/%s@%s)\n",
			mv.Name, mv.Version, mv.CurrentStage, championAlias, mv.Name, championAlias)
	}
	fmt.Fprintln(out, "To look at it:", uiCommand(c.TrackingURI()))
	return nil
}

// trainOne trains one model in a child run of parent.
func trainOne(ctx context.Context, c *mlrun.Client, parent *mlrun.Run, train, valid dataset, alpha float64) (res result, err error) {
	child, err := c.StartRun(ctx, mlrun.WithParent(parent), mlrun.WithRunName(fmt.Sprintf("alpha-%g", alpha)))
	if err != nil {
		return result{}, err
	}
	defer child.End(ctx, mlrun.OnError(&err))
	if err := child.LogParams(ctx, map[string]any{"alpha": alpha, "epochs": epochs, "learning_rate": learningRate}); err != nil {
		return result{}, err
	}
	m := &model{w: make([]float64, len(train.x[0]))}
	for e := range epochs {
		m.epoch(train, alpha, learningRate)
		if err := child.LogMetrics(ctx, map[string]float64{
			"train_rmse": m.rmse(train), "valid_rmse": m.rmse(valid),
		}, mlrun.WithStep(int64(e))); err != nil {
			return result{}, err
		}
	}
	var norm float64
	for _, w := range m.w {
		norm += w * w
	}
	if err := child.LogMetric(ctx, "weight_norm", math.Sqrt(norm)); err != nil {
		return result{}, err
	}
	return result{alpha: alpha, rmse: m.rmse(valid), runID: child.ID(), model: m}, nil
}

// uiCommand returns the shell command that opens the store in MLflow's UI.
func uiCommand(uri string) string {
	backend, path, err := mlrun.ParseTrackingURI(uri)
	if err != nil {
		return "mlflow ui --backend-store-uri " + uri
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if backend == mlrun.BackendSQLite {
		return "mlflow ui --backend-store-uri sqlite:///" + abs
	}
	return "MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri " + abs
}
