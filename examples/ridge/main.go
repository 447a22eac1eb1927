// Command ridge is mlrun's runnable example: it trains ridge regression in
// Go on a small deterministic data set, sweeping the regularisation strength
// alpha over nested child runs under one parent run, as the
// hyperopt-with-MLflow workflow does. Every child logs its params and a
// validation RMSE per epoch; the parent logs the best alpha, a table of the
// sweep and a PNG plot, and the best child is tagged.
//
// It writes to MLFLOW_TRACKING_URI, or to MLflow's default store
// (sqlite:///mlflow.db, or ./mlruns if that already holds experiments), and
// ends by printing the `mlflow ui` command that shows the result.
//
//	go run ./examples/ridge
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, ""); err != nil {
		fmt.Fprintln(os.Stderr, "ridge:", err)
		os.Exit(1)
	}
}

var _ io.Writer = os.Stdout
