package mlrun_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mlrun-go/mlrun/mlrun"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mlrun-example")
	defer os.RemoveAll(dir)

	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(filepath.Join(dir, "mlruns")))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := c.SetExperiment(ctx, "quickstart"); err != nil {
		log.Fatal(err)
	}
	run, err := c.StartRun(ctx, mlrun.WithRunName("first"))
	if err != nil {
		log.Fatal(err)
	}
	run.LogParam(ctx, "alpha", 0.5)
	for step, loss := range []float64{0.9, 0.5, 0.3} {
		run.LogMetric(ctx, "loss", loss, mlrun.WithStep(int64(step)))
	}
	run.End(ctx)

	r, _ := c.GetRun(ctx, run.ID())
	alpha, _ := r.Param("alpha")
	loss, _ := r.Metric("loss")
	fmt.Println(r.Info.RunName, r.Info.Status, alpha, loss.Value)
	// Output: first FINISHED 0.5 0.3
}
