package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

var ctx = context.Background()

// TestConformance runs the shared store conformance suite against a new
// database of each supported MLflow version, expecting MLflow's SQL-store
// metric semantics (store.SQLMetrics: ±Inf stored as the max float, -0.0
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
			}, storetest.Options{Metrics: store.SQLMetrics})
		})
	}
}
