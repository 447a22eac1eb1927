package main

import (
	"context"
	"fmt"
	"io"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
)

// runInit creates the store a tracking URI names, if it does not exist:
// an mlruns directory with the Default experiment, or an MLflow SQLite
// database in the exact schema of --mlflow-version (default: the newest
// supported MLflow). An existing store is opened and left as it is.
func runInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("init", stderr)
	uri := fs.String("tracking-uri", "", "tracking URI (default: MLFLOW_TRACKING_URI or MLflow's default store)")
	version := fs.String("mlflow-version", "", "MLflow release whose SQLite schema a new database gets (default: "+mlrun.DefaultMLflowVersion+")")
	if err := parse(fs, args); err != nil {
		return err
	}
	opts := []mlrun.Option{}
	if *uri != "" {
		opts = append(opts, mlrun.WithTrackingURI(*uri))
	}
	if *version != "" {
		opts = append(opts, mlrun.WithMLflowVersion(*version))
	}
	c, err := mlrun.Open(ctx, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	if s, ok := c.Store().(*sqlstore.Store); ok {
		fmt.Fprintf(stdout, "%s: MLflow %s SQLite store\n", c.TrackingURI(), s.MLflowVersion())
		return nil
	}
	fmt.Fprintf(stdout, "%s: mlruns file store\n", c.TrackingURI())
	return nil
}
