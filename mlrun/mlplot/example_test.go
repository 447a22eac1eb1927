package mlplot_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/mlrun/mlplot"
)

func ExampleLogFigure() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mlplot-example")
	defer os.RemoveAll(dir)
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(filepath.Join(dir, "mlruns")))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	run, err := c.StartRun(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer run.End(ctx)

	// Any gonum/plot figure, as mlflow.log_figure(fig, "plots/fit.png").
	p := plot.New()
	p.Title.Text = "fit"
	line, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 1}, {X: 1, Y: 3}, {X: 2, Y: 2}})
	p.Add(line)
	if err := mlplot.LogFigure(ctx, run, p, "plots/fit.png"); err != nil {
		log.Fatal(err)
	}

	// A metric's history, charted as the MLflow UI charts it.
	for step, loss := range []float64{0.9, 0.5, 0.3} {
		run.LogMetric(ctx, "loss", loss, mlrun.WithStep(int64(step)))
	}
	if err := mlplot.LogMetricHistory(ctx, c, run, "plots/loss.svg", []string{"loss"}); err != nil {
		log.Fatal(err)
	}

	files, _ := c.ListArtifacts(ctx, run.ID(), "plots")
	for _, f := range files {
		fmt.Println(f.Path)
	}
	// Output:
	// plots/fit.png
	// plots/loss.svg
}
