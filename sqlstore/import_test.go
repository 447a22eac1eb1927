package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store/storetest"
)

// TestImportConformance runs the shared import and purge suite
// (store.Importer, store.Purger) on a database of each supported MLflow
// version, with MLflow's SQL-store metric semantics.
func TestImportConformance(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			storetest.RunImport(t, func(t *testing.T) storetest.ImportStore {
				s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "mlflow.db"),
					&sqlstore.Options{MLflowVersion: v, ArtifactRoot: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}, storetest.Options{Metrics: storetest.SQLMetrics})
		})
	}
}
