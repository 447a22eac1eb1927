// Command mlrun inspects MLflow-compatible stores (an mlruns directory or an
// MLflow SQLite file) without Python:
//
//	mlrun experiments --tracking-uri URI [--view active|deleted|all] [--json]
//	mlrun runs --tracking-uri URI [--experiment NAME]... [--filter STR]
//	           [--order-by STR]... [--max-results N] [--view active|deleted|all] [--json]
//
// Without --tracking-uri, the store is chosen as MLflow does
// (MLFLOW_TRACKING_URI, else ./mlruns if it holds experiments, else
// sqlite:///mlflow.db).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mlrun:", err)
		os.Exit(exitCode(err))
	}
}
