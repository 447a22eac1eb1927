package sqlstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

var ctx = context.Background()

// TestConformance runs the shared store conformance suite against a new
// database of each supported MLflow version, expecting MLflow's SQL-store
// metric semantics (storetest.SQLMetrics: ±Inf stored as the max float, -0.0
// as 0.0, repeated points kept once, NaN compared as 0 for the latest value).
func TestConformance(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			storetest.RunWith(t, func(t *testing.T) store.Store {
				s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "mlflow.db"),
					&sqlstore.Options{MLflowVersion: v, ArtifactRoot: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}, storetest.Options{Metrics: storetest.SQLMetrics, State: conformanceState})
		})
	}
}

// TestReadOnlyConformance runs the shared read-only suite against a
// database of each supported MLflow version. The snapshot covers the
// directory but for the -shm and -wal files SQLite creates next to a WAL
// database for any reader (MLflow's too) where the directory lets it; on
// read-only media, or in a directory the process may not write, the store
// opens the file immutable and creates nothing (the ReadOnlyMedia
// subtest, and TestReadOnlyFile as another user).
func TestReadOnlyConformance(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			storetest.RunReadOnly(t, storetest.ReadOnlyHarness{
				Open: func(t *testing.T, path string, readOnly bool) (store.Store, error) {
					s, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: v, ArtifactRoot: "/tmp/ro-artifacts", ReadOnly: readOnly})
					if err != nil {
						return nil, err
					}
					return s, nil
				},
				Location: func(dir string) string { return filepath.Join(dir, "mlflow.db") },
				Snapshot: func(t *testing.T, dir string) string {
					return storetest.TreeState(t, dir, func(rel string) bool {
						return strings.HasSuffix(rel, ".db-shm") || strings.HasSuffix(rel, ".db-wal")
					})
				},
			})
		})
	}
}
