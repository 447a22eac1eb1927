// Command mlrun works with MLflow-compatible stores (an mlruns directory or
// an MLflow SQLite file) without Python:
//
//	mlrun init --tracking-uri URI [--mlflow-version V]
//	mlrun experiments --tracking-uri URI [--view active|deleted|all] [--json]
//	mlrun runs --tracking-uri URI [--experiment NAME]... [--filter STR]
//	           [--order-by STR]... [--max-results N] [--view active|deleted|all] [--json]
//	mlrun models --tracking-uri URI [--filter STR] [--json]
//	mlrun export --tracking-uri URI [--experiment NAME]... [--run-id ID]... [--filter STR] -o FILE.tar.gz
//	mlrun import --tracking-uri URI [--mlflow-version V] FILE.tar.gz
//	mlrun convert [--mlflow-version V] SRC_URI... DST_URI
//	mlrun gc --tracking-uri URI [--older-than DURATION] [--experiment-ids IDS] [--run-ids IDS]
//	mlrun version
//
// Without --tracking-uri, the store is chosen as MLflow does
// (MLFLOW_TRACKING_URI, else ./mlruns if it holds experiments, else
// sqlite:///mlflow.db). The read-only commands (experiments, runs, models,
// export) never create a store: a path or URI that names none is an error.
// Errors are one line on stderr; the exit code is 0 on success, 1 on
// failure and 2 for a usage error. `mlrun <command> --help` prints a
// command's flags.
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
		fmt.Fprintln(os.Stderr, "mlrun:", oneLine(err))
		stop()
		os.Exit(exitCode(err))
	}
}
