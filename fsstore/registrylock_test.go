package fsstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/store"
)

// TestRegistrySweep checks that the first registry write of a Store
// removes the stale temporary files in models/ and in the model and
// version directories, and that later writes of the same Store do not
// sweep again.
func TestRegistrySweep(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, nil)
	_, err := s.CreateRegisteredModel(ctx, "m", nil, "")
	mustNil(t, err, "CreateRegisteredModel")
	_, err = s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "m", Source: "/src"})
	mustNil(t, err, "CreateModelVersion")
	root := s.Root()
	mustNil(t, s.Close(), "Close")

	old := time.Now().Add(-2 * time.Hour)
	stale := func(dir string) string {
		p := filepath.Join(dir, ".meta.yaml.tmp-4194305-0123456789abcdef") // pid above Linux's pid_max
		mustNil(t, os.WriteFile(p, []byte("x"), 0o666), "write")
		mustNil(t, os.Chtimes(p, old, old), "chtimes")
		return p
	}
	models := filepath.Join(root, modelsDir)
	dirs := []string{models, filepath.Join(models, "m"), filepath.Join(models, "m", versionDirName(1))}
	var swept []string
	for _, d := range dirs {
		swept = append(swept, stale(d))
	}

	s = openAt(t, root, nil)
	mustNil(t, s.SetRegisteredModelTag(ctx, "m", store.Tag{Key: "k", Value: "v"}), "SetRegisteredModelTag")
	for _, p := range swept {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("stale %s kept by the first registry write", p)
		}
	}
	later := stale(dirs[1])
	mustNil(t, s.SetRegisteredModelTag(ctx, "m", store.Tag{Key: "k", Value: "w"}), "SetRegisteredModelTag")
	if _, err := os.Stat(later); err != nil {
		t.Errorf("second registry write swept again: %v", err)
	}
}
