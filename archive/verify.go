package archive

import (
	"context"

	"github.com/mlrun-go/mlrun/store"
)

// Verify reads the archive at path whole and checks everything Import's
// first pass checks that does not depend on a destination: checksums,
// format version, structure, counts, and every entity as an import would
// validate it. It writes nothing, and returns the archive's counts.
func Verify(ctx context.Context, path string) (Counts, error) {
	src, _, err := fileSource(path, nil)
	if err != nil {
		return Counts{}, err
	}
	v := &verifier{}
	st, err := importPass(ctx, nil, v, src, ImportOptions{}, true)
	if err != nil {
		return Counts{}, err
	}
	v.counts.Artifacts, v.counts.ArtifactBytes = st.Artifacts.Created, st.ArtifactBytes
	return v.counts, nil
}

// verifier is a store.Importer that only validates, for Verify: every
// entity is new.
type verifier struct{ counts Counts }

func (v *verifier) ImportExperiment(_ context.Context, e store.ImportExperiment, _ store.ImportOptions) (store.ImportResult, error) {
	v.counts.Experiments++
	return store.ImportResult{Created: true}, store.ValidateImportExperiment(e)
}

func (v *verifier) ImportRun(_ context.Context, r store.ImportRun, metrics store.MetricChunks, _ store.ImportOptions) (store.ImportResult, error) {
	if err := store.ValidateImportRun(r); err != nil {
		return store.ImportResult{}, err
	}
	var order store.KeyOrder
	for chunk, err := range metrics {
		if err == nil {
			err = order.Check(chunk)
		}
		if err != nil {
			return store.ImportResult{}, err
		}
		v.counts.MetricPoints += int64(len(chunk))
	}
	v.counts.Runs++
	return store.ImportResult{ID: r.Info.RunID, Created: true}, nil
}

func (v *verifier) ImportLoggedModel(_ context.Context, m *store.LoggedModel, _ store.ImportOptions) (store.ImportResult, error) {
	v.counts.LoggedModels++
	return store.ImportResult{ID: m.ModelID, Created: true}, store.ValidateImportLoggedModel(m)
}

func (v *verifier) ImportRegisteredModel(_ context.Context, m *store.RegisteredModel, _ store.ImportOptions) (store.ImportResult, error) {
	v.counts.RegisteredModels++
	return store.ImportResult{ID: m.Name, Created: true}, store.ValidateImportRegisteredModel(m)
}

func (v *verifier) ImportModelVersion(_ context.Context, mv *store.ModelVersion, _ store.ImportOptions) (store.ImportResult, error) {
	v.counts.ModelVersions++
	return store.ImportResult{Created: true}, store.ValidateImportModelVersion(mv)
}
