package main

import (
	"context"
	"fmt"

	"github.com/mlrun-go/mlrun/archive"
	"github.com/mlrun-go/mlrun/mlrun"
)

// schemaStore is a store whose database has the schema of one MLflow
// release (a SQLite store: *sqlstore.Store).
type schemaStore interface {
	MLflowVersion() string
}

// runInit creates the store a tracking URI names, if it does not exist:
// an mlruns directory with the Default experiment, or an MLflow SQLite
// database in the exact schema of --mlflow-version (default: the newest
// supported MLflow). An existing store is opened and left as it is; an
// existing database of another MLflow version than --mlflow-version is an
// error (mlrun never migrates a schema).
func runInit(ctx context.Context, c *cmdEnv) error {
	fs := c.flags()
	uri := trackingURIFlag(fs)
	version := fs.String("mlflow-version", "", "MLflow release whose SQLite schema a new database gets (default: "+mlrun.DefaultMLflowVersion+")")
	if _, err := c.parse(fs, 0, 0); err != nil {
		return err
	}
	resolved := mlrun.ResolveTrackingURI(*uri)
	if err := archive.CheckMLflowVersion(ctx, resolved, *version); err != nil {
		return err
	}
	opts := []mlrun.Option{mlrun.WithTrackingURI(resolved)}
	if *version != "" {
		opts = append(opts, mlrun.WithMLflowVersion(*version))
	}
	cl, err := mlrun.Open(ctx, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	kind := "mlruns file store"
	if s, ok := cl.Store().(schemaStore); ok {
		kind = "MLflow " + s.MLflowVersion() + " SQLite store"
	} else if b, _, _ := mlrun.ParseTrackingURI(cl.TrackingURI()); b == mlrun.BackendREST {
		kind = "MLflow tracking server"
	}
	fmt.Fprintf(c.stdout, "%s: %s\n", cl.TrackingURI(), kind)
	return nil
}
