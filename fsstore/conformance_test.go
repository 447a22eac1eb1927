package fsstore

import (
	"context"
	"testing"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestConformanceNoSync runs the suite without fsync, as benchmarks and
// bulk imports would use the store.
func TestConformanceNoSync(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), t.TempDir(), &Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestLoggedModelsConformance runs the shared logged-model suite with
// MLflow's file-store rules.
func TestLoggedModelsConformance(t *testing.T) {
	storetest.RunLoggedModels(t, func(t *testing.T) storetest.LMStore {
		s, err := Open(context.Background(), t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.Options{})
}
