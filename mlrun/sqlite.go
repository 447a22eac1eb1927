package mlrun

import (
	"context"

	"github.com/mlrun-go/mlrun/store"
)

// openSQLite opens the SQLite store at path.
func openSQLite(ctx context.Context, path string) (store.Store, error) {
	_ = ctx
	return nil, store.Invalidf("sqlite store %s: the SQLite backend is not available yet; set MLFLOW_TRACKING_URI to an mlruns directory", path)
}
