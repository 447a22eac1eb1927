package fsstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// TestInputSourceIDOutsideStore checks that a run input whose meta.yaml
// names a dataset id that is a path (a damaged or hostile store) is
// refused as corrupt instead of being read from outside the store.
func TestInputSourceIDOutsideStore(t *testing.T) {
	outside := t.TempDir()
	mustNil(t, os.WriteFile(filepath.Join(outside, metaFile), []byte("name: secret\ndigest: x\nsource_type: local\nsource: '{}'\n"), 0o644), "write")
	s := openStore(t, nil)
	r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: store.DefaultExperimentID})
	mustNil(t, err, "CreateRun")
	mustNil(t, s.LogInputs(bg, r.Info.RunID, []store.DatasetInput{{Dataset: store.Dataset{Name: "d", Digest: "1", SourceType: "local", Source: "{}"}}}), "LogInputs")
	loc, err := s.locateRun(r.Info.RunID)
	mustNil(t, err, "locateRun")
	inputs, err := os.ReadDir(filepath.Join(loc.dir, inputsDir))
	mustNil(t, err, "ReadDir inputs")
	rel, err := filepath.Rel(filepath.Join(loc.expDir, datasetsDir), outside)
	mustNil(t, err, "Rel")
	meta := filepath.Join(loc.dir, inputsDir, inputs[0].Name(), metaFile)
	b, err := os.ReadFile(meta)
	mustNil(t, err, "read input meta")
	i := strings.Index(string(b), "source_id: ")
	j := strings.Index(string(b[i:]), "\n")
	b = []byte(string(b[:i]) + "source_id: " + rel + string(b[i+j:]))
	mustNil(t, os.WriteFile(meta, b, 0o644), "rewrite input meta")
	if got, err := s.GetRun(bg, r.Info.RunID); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("GetRun with source_id %q = %+v, %v; want ErrCorrupt", rel, got, err)
	}
}
