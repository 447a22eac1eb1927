package archive

import (
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// TestSyncLocalLoggedModels syncs a file store with an MLflow 3 logged
// model (its run output and a version registered from its models:/ URI)
// into local stores: one with logged models gets the model once, found
// again on the next sync; one with a 2.x schema skips it with a note.
func TestSyncLocalLoggedModels(t *testing.T) {
	src := openKind(t, fileKind, t.TempDir())
	fill(t, src, "lm-")
	srcLMs, _ := store.AsLoggedModels(src)
	t.Run("mlflow3", func(t *testing.T) {
		dst := openKind(t, sqlite3, t.TempDir())
		st, err := Sync(ctx, src, dst, SyncOptions{})
		must(t, err)
		if st.LoggedModels != (SyncTally{Created: 1}) || st.Outputs != 1 || st.ModelMetricPoints == 0 {
			t.Errorf("first sync: %+v", st)
		}
		st, err = Sync(ctx, src, dst, SyncOptions{})
		must(t, err)
		if st.Changed() || st.LoggedModels != (SyncTally{Unchanged: 1}) || st.ModelMetricPoints != 0 || st.Outputs != 0 {
			t.Errorf("second sync changed something: %+v", st)
		}
		lms, _ := store.AsLoggedModels(dst)
		exp, err := dst.GetExperimentByName(ctx, "lm-sweep ünïcødé ✓")
		must(t, err)
		page, err := lms.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{exp.ID}})
		must(t, err)
		if len(page.Models) != 1 {
			t.Fatalf("%d logged models on the destination", len(page.Models))
		}
		m := page.Models[0]
		srcModel, err := srcLMs.GetLoggedModel(ctx, m.Tags[SourceModelIDTag])
		must(t, err)
		run, err := dst.GetRun(ctx, m.SourceRunID)
		must(t, err)
		if run.Info.RunName != "lm-parent" || tagValue(run.Data.Tags, SourceRunIDTag) != srcModel.SourceRunID || m.Name != srcModel.Name ||
			m.Params["p"] != "1" || m.Status != store.LoggedModelReady || m.ModelType != "regressor" {
			t.Errorf("destination model %+v (run %+v), source %+v", m, run.Info, srcModel)
		}
		outs, err := lms.GetRunOutputs(ctx, run.Info.RunID)
		must(t, err)
		if len(outs) != 1 || outs[0].ModelID != m.ModelID || outs[0].Step != 3 {
			t.Errorf("destination run outputs %+v", outs)
		}
		vs, err := dst.(store.Registry).SearchModelVersions(ctx, store.ModelVersionQuery{Filter: "name = 'lm-ridge'"})
		must(t, err)
		if len(vs.Versions) != 1 || vs.Versions[0].Source != m.URI() || vs.Versions[0].RunID != run.Info.RunID {
			t.Errorf("destination versions of lm-ridge: %+v (model %s)", vs.Versions, m.ModelID)
		}
	})
	t.Run("mlflow2", func(t *testing.T) {
		dst := openKind(t, sqlite2, t.TempDir())
		st, err := Sync(ctx, src, dst, SyncOptions{})
		must(t, err)
		notes := strings.Join(st.Notes, "\n")
		if st.LoggedModels != (SyncTally{}) || !strings.Contains(notes, "1 logged models were not synced: the destination has no MLflow 3 logged models") ||
			!strings.Contains(notes, "1 run outputs") {
			t.Errorf("sync to a 2.x schema: %+v", st)
		}
		st, err = Sync(ctx, src, dst, SyncOptions{})
		must(t, err)
		if st.Changed() {
			t.Errorf("second sync changed something: %+v", st)
		}
	})
}
