package fsstore

import (
	"context"
	"testing"

	"github.com/mlrun-go/mlrun/store/storetest"
)

// TestImportConformance runs the shared import and purge suite
// (store.Importer, store.Purger) with MLflow's file-store rules.
func TestImportConformance(t *testing.T) {
	storetest.RunImport(t, func(t *testing.T) storetest.ImportStore {
		s, err := Open(context.Background(), t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.Options{})
}
