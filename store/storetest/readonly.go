package storetest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// ReadOnlyHarness describes a backend to RunReadOnly.
type ReadOnlyHarness struct {
	// Open opens the store at path (see Location), read-only or not; a
	// store opened read-write is created if missing.
	Open func(t *testing.T, path string, readOnly bool) (store.Store, error)

	// Location returns the path of a store kept in directory dir: the
	// mlruns directory, or the database file.
	Location func(dir string) string

	// Snapshot fingerprints, byte for byte, everything of the store kept
	// in dir that a reader must not change (see TreeState).
	Snapshot func(t *testing.T, dir string) string

	// AsMLflowWrote, if set, removes from the store in dir the files that
	// mlrun's writers keep and MLflow's do not (lock files), so that a
	// reader that created one would be caught by Snapshot.
	AsMLflowWrote func(t *testing.T, dir string)
}

// RunReadOnly checks a backend's read-only mode: opening a missing store
// fails with store.ErrNotFound ("no MLflow store at <path>") and creates
// nothing; on a populated store whose files are made read-only (chmod,
// which does not bind root, hence the snapshot), every read returns what
// the read-write store returned, every write method (found by reflection:
// all but Get..., Search... and List...) fails with store.ErrReadOnly, and
// the store is byte for byte unchanged afterwards. The same holds on
// read-only media (a tmpfs remounted read-only, on Linux when the test may
// mount one, which needs root; the subtest is skipped otherwise).
func RunReadOnly(t *testing.T, h ReadOnlyHarness) {
	t.Helper()
	t.Run("Missing", func(t *testing.T) {
		dir := t.TempDir()
		path := h.Location(dir)
		s, err := h.Open(t, path, true)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%s, read-only) of a missing store succeeded", path)
		}
		if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "no MLflow store at "+path) {
			t.Errorf("Open(missing, read-only) = %v, want ErrNotFound saying \"no MLflow store at %s\"", err, path)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("Open(missing, read-only) created %v", entries)
		}
	})
	t.Run("ReadsWorkWritesFail", func(t *testing.T) {
		dir := t.TempDir()
		testReadOnlyStore(t, h, dir, func() {
			chmodTree(t, dir, false)
			t.Cleanup(func() { chmodTree(t, dir, true) })
		})
	})
	t.Run("ReadOnlyMedia", func(t *testing.T) {
		dir := t.TempDir()
		remount := mountScratch(t, dir)
		testReadOnlyStore(t, h, dir, func() { remount(true) })
	})
}

// readOnlyFixture is what testReadOnlyStore writes before reopening the
// store read-only.
type readOnlyFixture struct {
	expID, runID, modelID string
	hasLM, hasRegistry    bool
}

func populateForReadOnly(t *testing.T, s store.Store) readOnlyFixture {
	t.Helper()
	var f readOnlyFixture
	f.expID = createExperiment(t, s, "ro", store.Tag{Key: "team", Value: "vision"})
	gone := createExperiment(t, s, "ro-deleted")
	must(t, s.DeleteExperiment(ctx, gone), "DeleteExperiment")
	r := createRun(t, s, f.expID, "ro-run", 1000, store.Tag{Key: "t", Value: "v"})
	f.runID = r.Info.RunID
	logBatch(t, s, f.runID, []store.Metric{{Key: "loss", Value: 0.5, Timestamp: 1, Step: 0}, {Key: "loss", Value: 0.25, Timestamp: 2, Step: 1}},
		[]store.Param{{Key: "alpha", Value: "0.1"}}, []store.Tag{{Key: "stage", Value: "dev"}})
	must(t, s.LogInputs(ctx, f.runID, []store.DatasetInput{{Dataset: store.Dataset{Name: "train", Digest: "d1", SourceType: "local", Source: "{}"},
		Tags: []store.Tag{{Key: "mlflow.data.context", Value: "training"}}}}), "LogInputs")
	deleted := createRun(t, s, f.expID, "ro-deleted-run", 2000)
	must(t, s.DeleteRun(ctx, deleted.Info.RunID), "DeleteRun")
	if lms, ok := store.AsLoggedModels(s); ok {
		f.hasLM = true
		lm, err := lms.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{ExperimentID: f.expID, Name: "m", SourceRunID: f.runID,
			Params: []store.Param{{Key: "p", Value: "1"}}, Tags: []store.Tag{{Key: "k", Value: "v"}}})
		must(t, err, "CreateLoggedModel")
		f.modelID = lm.ModelID
		must(t, lms.LogLoggedModelMetrics(ctx, lm.ModelID, []store.LoggedModelMetric{{Key: "acc", Value: 0.9, Timestamp: 1, RunID: f.runID}}), "LogLoggedModelMetrics")
		must(t, lms.LogOutputs(ctx, f.runID, []store.LoggedModelOutput{{ModelID: lm.ModelID, Step: 1}}), "LogOutputs")
		_, err = lms.FinalizeLoggedModel(ctx, lm.ModelID, store.LoggedModelReady)
		must(t, err, "FinalizeLoggedModel")
	}
	if reg, ok := s.(store.Registry); ok {
		f.hasRegistry = true
		_, err := reg.CreateRegisteredModel(ctx, "ridge", []store.Tag{{Key: "k", Value: "v"}}, "a model")
		must(t, err, "CreateRegisteredModel")
		_, err = reg.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "ridge", Source: "file:///tmp/model", RunID: f.runID})
		must(t, err, "CreateModelVersion")
		must(t, reg.SetRegisteredModelAlias(ctx, "ridge", "champion", 1), "SetRegisteredModelAlias")
	}
	return f
}

// readAll performs every kind of read on the fixture's store and returns
// the results, to compare a read-only store's reads with the writer's.
func readAll(t *testing.T, s store.Store, f readOnlyFixture) map[string]any {
	t.Helper()
	out := map[string]any{}
	note := func(what string, v any, err error) {
		t.Helper()
		must(t, err, what)
		out[what] = v
	}
	e, err := s.GetExperiment(ctx, f.expID)
	note("GetExperiment", e, err)
	e, err = s.GetExperimentByName(ctx, "ro")
	note("GetExperimentByName", e, err)
	ep, err := s.SearchExperiments(ctx, store.ExperimentQuery{ViewType: store.AllViews})
	note("SearchExperiments", ep, err)
	r, err := s.GetRun(ctx, f.runID)
	note("GetRun", r, err)
	rp, err := s.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{f.expID}, ViewType: store.AllViews, Filter: "metrics.loss < 1"})
	note("SearchRuns", rp, err)
	h, err := s.GetMetricHistory(ctx, f.runID, "loss")
	note("GetMetricHistory", h, err)
	if f.hasLM {
		lms, ok := store.AsLoggedModels(s)
		if !ok {
			t.Fatal("the read-only store has no logged models")
		}
		m, err := lms.GetLoggedModel(ctx, f.modelID)
		note("GetLoggedModel", m, err)
		mp, err := lms.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{f.expID}})
		note("SearchLoggedModels", mp, err)
		o, err := lms.GetRunOutputs(ctx, f.runID)
		note("GetRunOutputs", o, err)
	}
	if f.hasRegistry {
		reg := s.(store.Registry)
		m, err := reg.GetRegisteredModel(ctx, "ridge")
		note("GetRegisteredModel", m, err)
		mp, err := reg.SearchRegisteredModels(ctx, store.RegisteredModelQuery{})
		note("SearchRegisteredModels", mp, err)
		v, err := reg.GetModelVersion(ctx, "ridge", 1)
		note("GetModelVersion", v, err)
		vp, err := reg.SearchModelVersions(ctx, store.ModelVersionQuery{Filter: "name = 'ridge'"})
		note("SearchModelVersions", vp, err)
		l, err := reg.GetLatestVersions(ctx, "ridge", nil)
		note("GetLatestVersions", l, err)
		a, err := reg.GetModelVersionByAlias(ctx, "ridge", "champion")
		note("GetModelVersionByAlias", a, err)
		u, err := reg.GetModelVersionDownloadURI(ctx, "ridge", 1)
		note("GetModelVersionDownloadURI", u, err)
	}
	return out
}

// testReadOnlyStore populates a store in dir, makes it read-only with
// makeReadOnly, and checks the read-only store.
func testReadOnlyStore(t *testing.T, h ReadOnlyHarness, dir string, makeReadOnly func()) {
	path := h.Location(dir)
	rw, err := h.Open(t, path, false)
	must(t, err, "Open read-write")
	f := populateForReadOnly(t, rw)
	want := readAll(t, rw, f)
	must(t, rw.Close(), "Close")
	if h.AsMLflowWrote != nil {
		h.AsMLflowWrote(t, dir)
	}
	makeReadOnly()
	before := h.Snapshot(t, dir)

	ro, err := h.Open(t, path, true)
	must(t, err, "Open read-only")
	got := readAll(t, ro, f)
	for what, w := range want {
		if !reflect.DeepEqual(got[what], w) {
			t.Errorf("read-only %s =\n%s\nwant\n%s", what, dump(got[what]), dump(w))
		}
	}
	// Every write method fails up front, whatever its arguments...
	for _, m := range ctxMethods(t, ro) {
		if isReadMethod(m.name) {
			continue
		}
		if err := m.callZero(ctx); !errors.Is(err, store.ErrReadOnly) || !errors.Is(err, store.ErrInvalidState) {
			t.Errorf("%s on a read-only store = %v, want ErrReadOnly", m.name, err)
		}
	}
	// ... and so do valid requests.
	for what, err := range readOnlyWrites(ro, f) {
		if !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("%s on a read-only store = %v, want ErrReadOnly", what, err)
		}
	}
	// Reads still work after the refused writes.
	if again := readAll(t, ro, f); !reflect.DeepEqual(again["GetRun"], want["GetRun"]) {
		t.Errorf("GetRun changed after refused writes:\n%s", dump(again["GetRun"]))
	}
	must(t, ro.Close(), "Close read-only")
	if after := h.Snapshot(t, dir); after != before {
		t.Errorf("the read-only store changed the files at %s", FirstDiff(after, before))
	}
}

// readOnlyWrites makes valid write requests on the fixture's store.
func readOnlyWrites(s store.Store, f readOnlyFixture) map[string]error {
	errs := map[string]error{}
	_, errs["CreateExperiment"] = s.CreateExperiment(ctx, "new", "", nil)
	errs["SetExperimentTag"] = s.SetExperimentTag(ctx, f.expID, store.Tag{Key: "k", Value: "v"})
	errs["RenameExperiment"] = s.RenameExperiment(ctx, f.expID, "renamed")
	errs["DeleteExperiment"] = s.DeleteExperiment(ctx, f.expID)
	_, errs["CreateRun"] = s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: f.expID})
	errs["LogBatch"] = s.LogBatch(ctx, f.runID, []store.Metric{{Key: "loss", Value: 1, Timestamp: 3, Step: 2}}, nil, nil)
	errs["LogInputs"] = s.LogInputs(ctx, f.runID, []store.DatasetInput{{Dataset: store.Dataset{Name: "eval", Digest: "d2", SourceType: "local", Source: "{}"}}})
	errs["DeleteTag"] = s.DeleteTag(ctx, f.runID, "stage")
	_, errs["UpdateRun"] = s.UpdateRun(ctx, f.runID, store.RunUpdate{Status: store.StatusFinished})
	errs["DeleteRun"] = s.DeleteRun(ctx, f.runID)
	if lms, ok := store.AsLoggedModels(s); ok && f.hasLM {
		_, errs["CreateLoggedModel"] = lms.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{ExperimentID: f.expID})
		errs["LogLoggedModelMetrics"] = lms.LogLoggedModelMetrics(ctx, f.modelID, []store.LoggedModelMetric{{Key: "acc", Value: 1, Timestamp: 2, RunID: f.runID}})
		errs["SetLoggedModelTags"] = lms.SetLoggedModelTags(ctx, f.modelID, []store.Tag{{Key: "k", Value: "w"}})
		errs["DeleteLoggedModel"] = lms.DeleteLoggedModel(ctx, f.modelID)
	}
	if reg, ok := s.(store.Registry); ok && f.hasRegistry {
		_, errs["CreateRegisteredModel"] = reg.CreateRegisteredModel(ctx, "new", nil, "")
		_, errs["CreateModelVersion"] = reg.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "ridge", Source: "file:///tmp/m2"})
		_, errs["TransitionModelVersionStage"] = reg.TransitionModelVersionStage(ctx, "ridge", 1, "Production", true)
		errs["DeleteRegisteredModelAlias"] = reg.DeleteRegisteredModelAlias(ctx, "ridge", "champion")
		errs["DeleteRegisteredModel"] = reg.DeleteRegisteredModel(ctx, "ridge")
	}
	return errs
}

// chmodTree makes every file and directory under dir read-only (or, with
// writable, owner-writable again).
func chmodTree(t *testing.T, dir string, writable bool) {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		t.Fatalf("chmod %s: %v", dir, err)
	}
	// Directories last when making read-only, first when making writable.
	if !writable {
		for i, j := 0, len(paths)-1; i < j; i, j = i+1, j-1 {
			paths[i], paths[j] = paths[j], paths[i]
		}
	}
	for _, p := range paths {
		info, err := os.Lstat(p)
		if err != nil || info.Mode()&fs.ModeSymlink != 0 {
			continue
		}
		mode := info.Mode().Perm() &^ 0o222
		if writable {
			mode |= 0o200
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatalf("chmod %s: %v", p, err)
		}
	}
}

func dump(v any) string { return fmt.Sprintf("%+v", deref(v)) }

// deref follows pointers (and slices of pointers) so that dump shows
// values.
func deref(v any) any {
	rv := reflect.ValueOf(v)
	switch {
	case !rv.IsValid():
		return v
	case rv.Kind() == reflect.Pointer && !rv.IsNil():
		return deref(rv.Elem().Interface())
	case rv.Kind() == reflect.Slice:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = deref(rv.Index(i).Interface())
		}
		return out
	}
	return v
}
