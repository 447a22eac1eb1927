package fsstore

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunWith(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.Options{State: treeState})
}

// treeState is storetest.Options.State for a *Store: its whole directory
// tree, byte for byte.
func treeState(t *testing.T, s any) string { return storetest.TreeState(t, s.(*Store).Root(), nil) }

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
	}, storetest.Options{State: treeState})
}

// TestReadOnlyConformance runs the shared read-only suite: Options.ReadOnly
// reads a store (here one stripped of mlrun's lock files and staging
// folder, as MLflow writes it) without creating or changing anything.
func TestReadOnlyConformance(t *testing.T) {
	storetest.RunReadOnly(t, storetest.ReadOnlyHarness{
		Open: func(t *testing.T, path string, readOnly bool) (store.Store, error) {
			return Open(context.Background(), path, &Options{ReadOnly: readOnly})
		},
		Location:      func(dir string) string { return filepath.Join(dir, "mlruns") },
		Snapshot:      func(t *testing.T, dir string) string { return storetest.TreeState(t, dir, nil) },
		AsMLflowWrote: removeMlrunFiles,
	})
}

// removeMlrunFiles deletes mlrun's own files from the store under dir: its
// lock files and staging folder, which MLflow never writes.
func removeMlrunFiles(t *testing.T, dir string) {
	t.Helper()
	var doomed []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == rootLockFile || d.Name() == stagingDir {
			doomed = append(doomed, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	mustNil(t, err, "walk")
	for _, p := range doomed {
		mustNil(t, os.RemoveAll(p), "remove "+p)
	}
}
