package mlrun_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

// TestWithReadOnly opens a file store and a SQLite store, each written
// before, with WithReadOnly: reads work, every write fails with
// store.ErrReadOnly, and the store's files are unchanged (the SQLite store
// apart from the -shm/-wal files any SQLite reader of a WAL database makes
// in a writable directory).
func TestWithReadOnly(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		uri  func(dir string) string
	}{
		{"file", func(dir string) string { return filepath.Join(dir, "mlruns") }},
		{"sqlite", func(dir string) string { return "sqlite:///" + filepath.Join(dir, "mlflow.db") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			uri := tc.uri(dir)
			rw, err := mlrun.Open(ctx, mlrun.WithTrackingURI(uri))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rw.SetExperiment(ctx, "ro"); err != nil {
				t.Fatal(err)
			}
			run, err := rw.StartRun(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := run.LogMetric(ctx, "loss", 0.5); err != nil {
				t.Fatal(err)
			}
			if err := run.End(ctx); err != nil {
				t.Fatal(err)
			}
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			snapshot := func() string {
				return storetest.TreeState(t, dir, func(rel string) bool {
					return strings.HasSuffix(rel, ".db-shm") || strings.HasSuffix(rel, ".db-wal")
				})
			}
			before := snapshot()

			ro, err := mlrun.Open(ctx, mlrun.WithTrackingURI(uri), mlrun.WithReadOnly())
			if err != nil {
				t.Fatalf("Open(WithReadOnly): %v", err)
			}
			got, err := ro.Store().GetRun(ctx, run.ID())
			if err != nil {
				t.Fatal(err)
			}
			if m, ok := got.Metric("loss"); !ok || m.Value != 0.5 {
				t.Errorf("read-only GetRun metrics %+v", got.Data.Metrics)
			}
			if _, err := ro.SetExperiment(ctx, "ro"); err != nil {
				t.Errorf("SetExperiment of an existing experiment on a read-only store: %v", err)
			}
			if _, err := ro.SetExperiment(ctx, "new"); !errors.Is(err, store.ErrReadOnly) {
				t.Errorf("SetExperiment(new) = %v, want ErrReadOnly", err)
			}
			if _, err := ro.StartRun(ctx); !errors.Is(err, store.ErrReadOnly) {
				t.Errorf("StartRun = %v, want ErrReadOnly", err)
			}
			if err := ro.LogBatch(ctx, run.ID(), []store.Metric{{Key: "loss", Value: 1}}, nil, nil); !errors.Is(err, store.ErrReadOnly) {
				t.Errorf("LogBatch = %v, want ErrReadOnly", err)
			}
			if err := ro.Close(); err != nil {
				t.Fatal(err)
			}
			if after := snapshot(); after != before {
				t.Errorf("read-only client changed the store:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestWithReadOnlyMissing opens missing stores read-only: the error says
// "no MLflow store at <path>" and wraps store.ErrNotFound, and nothing is
// created (not the default sqlite:///mlflow.db either).
func TestWithReadOnlyMissing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("MLFLOW_TRACKING_URI", "")
	for _, opts := range [][]mlrun.Option{
		{mlrun.WithTrackingURI(filepath.Join(dir, "sub", "mlruns"))},
		{mlrun.WithTrackingURI("sqlite:///" + filepath.Join(dir, "sub", "mlflow.db"))},
		nil, // MLflow's default: sqlite:///mlflow.db in the current directory
	} {
		c, err := mlrun.Open(ctx, append(opts, mlrun.WithReadOnly())...)
		if err == nil {
			c.Close()
			t.Fatalf("Open(%d options, WithReadOnly) of a missing store succeeded", len(opts))
		}
		if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "no MLflow store at "+dir) {
			t.Errorf("Open(missing, WithReadOnly) = %v, want ErrNotFound saying \"no MLflow store at <path>\"", err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a read-only Open created %v", entries)
	}
	s, err := mlrun.Open(ctx, mlrun.WithTrackingURI(filepath.Join(dir, "x")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := mlrun.Open(ctx, mlrun.WithStore(s.Store()), mlrun.WithReadOnly()); err == nil {
		t.Error("WithStore and WithReadOnly together were accepted")
	}
}
