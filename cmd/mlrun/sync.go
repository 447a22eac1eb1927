package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/mlrun-go/mlrun/archive"
	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/reststore"
	"github.com/mlrun-go/mlrun/store"
)

// runSync pushes runs logged offline to a tracking server: mlrun sync
// --from LOCAL_URI --to http(s)://... [--experiment NAME]... [--run-id
// ID]... [--filter STR].
func runSync(ctx context.Context, c *cmdEnv) error {
	fs := c.flags()
	from := fs.String("from", "", "the local store the runs were logged to: an mlruns path or file: URI, or sqlite:///relative.db, sqlite:////absolute.db")
	to := fs.String("to", "", "the MLflow tracking server: http(s)://host[:port][/prefix]")
	var experiments, runIDs listFlag
	fs.Var(&experiments, "experiment", "sync this experiment (by name; repeatable; default: every experiment)")
	fs.Var(&runIDs, "run-id", "sync this run (repeatable; default: every run of the experiments)")
	filter := fs.String("filter", "", "sync the runs matching this MLflow filter, e.g. \"metrics.rmse < 0.8\"")
	if _, err := c.parse(fs, 0, 0); err != nil {
		return err
	}
	switch {
	case *from == "":
		return usagef(c.name, "--from LOCAL_URI is required")
	case *to == "":
		return usagef(c.name, "--to http(s)://... is required")
	}
	if backend, _, err := mlrun.ParseTrackingURI(*from); err != nil {
		return usagef(c.name, "--from: %v", err)
	} else if backend == mlrun.BackendREST {
		return usagef(c.name, "--from must be a local store (an mlruns directory or an SQLite database), not a server")
	}
	if err := checkServerURI(c.name, "--to", *to); err != nil {
		return err
	}
	src, err := archive.OpenExisting(ctx, *from, true)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openServer(ctx, *to)
	if err != nil {
		return err
	}
	defer dst.Close()
	bar := newProgress(c.stderr, "runs")
	st, err := archive.Sync(ctx, src, dst, archive.SyncOptions{Experiments: experiments, RunIDs: runIDs, Filter: *filter, Progress: bar.report()})
	bar.finish()
	if err != nil {
		return err
	}
	printSyncStats(c.stdout, c.stderr, st, *to)
	return nil
}

// checkServerURI checks that a flag names an http(s) tracking server.
func checkServerURI(cmd, flag, uri string) error {
	backend, _, err := mlrun.ParseTrackingURI(uri)
	if err != nil {
		return usagef(cmd, "%s: %v", flag, err)
	}
	if backend != mlrun.BackendREST {
		return usagef(cmd, "%s must be an MLflow tracking server, http(s)://..., not %q", flag, uri)
	}
	return nil
}

// isServerURI reports whether a tracking URI names an http(s) server.
func isServerURI(uri string) bool {
	backend, _, err := mlrun.ParseTrackingURI(uri)
	return err == nil && backend == mlrun.BackendREST
}

// openServer opens the REST store of a tracking server and checks that
// the server answers. The check is not retried unless
// MLFLOW_HTTP_REQUEST_MAX_RETRIES says so, so that a wrong or unreachable
// URI fails at once (MLflow's client would retry for minutes).
func openServer(ctx context.Context, uri string) (*reststore.Store, error) {
	cfg, err := mlflowhttp.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	probeCfg := cfg
	if os.Getenv(mlflowhttp.EnvMaxRetries) == "" {
		zero := 0
		probeCfg.MaxRetries = &zero
	}
	probe, err := reststore.Open(ctx, uri, &reststore.Options{HTTP: &probeCfg})
	if err != nil {
		return nil, err
	}
	_, err = probe.SearchExperiments(ctx, store.ExperimentQuery{ViewType: store.ActiveOnly, MaxResults: 1})
	probe.Close()
	if err != nil {
		return nil, fmt.Errorf("cannot reach the MLflow tracking server at %s: %w", uri, err)
	}
	return reststore.Open(ctx, uri, &reststore.Options{HTTP: &cfg})
}

// syncArchive imports an archive into a tracking server (mlrun import
// --tracking-uri http(s)://... FILE.tar.gz), as sync does.
func syncArchive(ctx context.Context, c *cmdEnv, uri, path string) error {
	dst, err := openServer(ctx, uri)
	if err != nil {
		return err
	}
	defer dst.Close()
	bar := newProgress(c.stderr, "bytes")
	st, err := archive.SyncArchive(ctx, path, dst, archive.SyncOptions{Progress: bar.report()})
	bar.finish()
	if err != nil {
		return err
	}
	printSyncStats(c.stdout, c.stderr, st, uri)
	return nil
}

// printSyncStats prints what a sync did.
func printSyncStats(w, notes io.Writer, st archive.SyncStats, uri string) {
	fmt.Fprintf(w, "%-16s %d created, %d found\n", "experiments:", st.Experiments.Created, st.Experiments.Unchanged)
	fmt.Fprintf(w, "%-16s %d created, %d updated, %d unchanged\n", "runs:", st.Runs.Created, st.Runs.Updated, st.Runs.Unchanged)
	fmt.Fprintf(w, "%-16s %d sent\n", "metric points:", st.MetricPoints)
	fmt.Fprintf(w, "%-16s %d params, %d tags, %d dataset inputs sent\n", "run data:", st.Params, st.Tags, st.Inputs)
	fmt.Fprintf(w, "%-16s %d uploaded (%s), %d unchanged\n", "artifacts:", st.Artifacts.Created, plural(st.ArtifactBytes, "byte", "bytes"), st.Artifacts.Unchanged)
	if lm := st.LoggedModels; lm.Created+lm.Updated+lm.Unchanged > 0 || st.Outputs > 0 {
		fmt.Fprintf(w, "%-16s %d created, %d updated, %d unchanged; %d metric points, %d run outputs sent\n", "logged models:",
			lm.Created, lm.Updated, lm.Unchanged, st.ModelMetricPoints, st.Outputs)
	}
	fmt.Fprintf(w, "%-16s %d registered models created, %d found; %d versions created, %d found\n", "registry:",
		st.RegisteredModels.Created, st.RegisteredModels.Unchanged, st.ModelVersions.Created, st.ModelVersions.Unchanged)
	if !st.Changed() {
		fmt.Fprintf(w, "nothing to sync: %s already holds everything\n", uri)
	}
	for _, n := range st.Notes {
		fmt.Fprintln(notes, "note:", n)
	}
}
