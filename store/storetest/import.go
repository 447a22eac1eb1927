package storetest

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// ImportStore is a store with the import and purge capabilities.
type ImportStore interface {
	store.Store
	store.Registry
	store.Importer
	store.Purger
}

// ImportOpener opens a fresh, empty ImportStore for one subtest. The suite
// closes it.
type ImportOpener func(t *testing.T) ImportStore

// RunImport runs the conformance suite of store.Importer and store.Purger
// against the backend open creates, with the metric semantics of
// opts.Metrics. Logged-model cases run where store.AsLoggedModels finds
// logged models.
func RunImport(t *testing.T, open ImportOpener, opts Options) {
	t.Helper()
	for _, tc := range importCases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s, opts)
		})
	}
}

var importCases = []struct {
	name string
	fn   func(t *testing.T, s ImportStore, opts Options)
}{
	{"ExperimentKeepsID", testImportExperimentKeepsID},
	{"ExperimentMatchedByName", testImportExperimentByName},
	{"ExperimentIDTaken", testImportExperimentIDTaken},
	{"DeletedExperiment", testImportDeletedExperiment},
	{"Run", testImportRun},
	{"RunIdempotent", testImportRunIdempotent},
	{"RunConflicts", testImportRunConflicts},
	{"RunBadInput", testImportRunBadInput},
	{"DryRunWritesNothing", testImportDryRun},
	{"Registry", testImportRegistry},
	{"LoggedModel", testImportLoggedModel},
	{"Purge", testPurge},
}

const t0 = int64(1_700_000_000_000)

func importExperiment(t *testing.T, s ImportStore, e store.ImportExperiment) store.ImportResult {
	t.Helper()
	res, err := s.ImportExperiment(ctx, e, store.ImportOptions{})
	must(t, err, "ImportExperiment "+e.Name)
	return res
}

// chunks streams points in chunks of n.
func chunks(points []store.Metric, n int) store.MetricChunks {
	return func(yield func([]store.Metric, error) bool) {
		for len(points) > 0 {
			k := min(n, len(points))
			if !yield(points[:k], nil) {
				return
			}
			points = points[k:]
		}
	}
}

func testImportExperimentKeepsID(t *testing.T, s ImportStore, _ Options) {
	e := store.ImportExperiment{ID: "123", Name: "kept ✓", LifecycleStage: store.LifecycleActive,
		CreationTime: t0, LastUpdateTime: t0 + 5, Tags: map[string]string{"team": "ml", "nested/key": "v"}}
	res := importExperiment(t, s, e)
	if !res.Created || res.ID != "123" || !strings.HasSuffix(res.ArtifactLocation, "/123") {
		t.Fatalf("ImportExperiment = %+v, want created with id 123 and a default location", res)
	}
	got := getExperiment(t, s, "123")
	if got.Name != e.Name || got.LifecycleStage != store.LifecycleActive || got.CreationTime != t0 || got.LastUpdateTime != t0+5 ||
		len(got.Tags) != 2 || got.Tags["nested/key"] != "v" || got.ArtifactLocation != res.ArtifactLocation {
		t.Errorf("GetExperiment = %+v", got)
	}
	again := importExperiment(t, s, e)
	if again.Created || again.ID != "123" {
		t.Errorf("second import = %+v, want unchanged", again)
	}
	// New experiments after an imported id still work.
	createExperiment(t, s, "after")
}

func testImportExperimentByName(t *testing.T, s ImportStore, _ Options) {
	id := createExperiment(t, s, "shared", store.Tag{Key: "a", Value: "1"}, store.Tag{Key: "b", Value: "mine"})
	res := importExperiment(t, s, store.ImportExperiment{ID: "999", Name: "shared", LifecycleStage: store.LifecycleActive,
		CreationTime: t0, LastUpdateTime: t0, Tags: map[string]string{"b": "theirs", "c": "new"}})
	if res.Created || res.ID != id || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], `"b"`) {
		t.Fatalf("ImportExperiment = %+v, want experiment %s matched by name with one note", res, id)
	}
	got := getExperiment(t, s, id)
	if got.Tags["a"] != "1" || got.Tags["b"] != "mine" || got.Tags["c"] != "new" {
		t.Errorf("tags after the merge = %v, want a kept, b kept, c added", got.Tags)
	}
	if _, err := s.GetExperiment(ctx, "999"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("experiment 999 was created: %v", err)
	}
	// The Default experiment is matched by name too.
	res = importExperiment(t, s, store.ImportExperiment{ID: "7", Name: store.DefaultExperimentName, LifecycleStage: store.LifecycleActive})
	if res.Created || res.ID != store.DefaultExperimentID {
		t.Errorf("Default imported as %+v", res)
	}
}

func testImportExperimentIDTaken(t *testing.T, s ImportStore, _ Options) {
	res := importExperiment(t, s, store.ImportExperiment{ID: store.DefaultExperimentID, Name: "not default", LifecycleStage: store.LifecycleActive, CreationTime: t0, LastUpdateTime: t0})
	if !res.Created || res.ID == store.DefaultExperimentID || res.ID == "" {
		t.Fatalf("ImportExperiment = %+v, want a new id", res)
	}
	if getExperiment(t, s, store.DefaultExperimentID).Name != store.DefaultExperimentName {
		t.Error("Default was changed")
	}
	if getExperiment(t, s, res.ID).Name != "not default" {
		t.Error("the new experiment has another name")
	}
}

func testImportDeletedExperiment(t *testing.T, s ImportStore, opts Options) {
	res := importExperiment(t, s, store.ImportExperiment{ID: "55", Name: "gone", LifecycleStage: store.LifecycleDeleted, CreationTime: t0, LastUpdateTime: t0 + 1,
		Tags: map[string]string{"k": "v"}})
	got := getExperiment(t, s, res.ID)
	if got.LifecycleStage != store.LifecycleDeleted || got.Tags["k"] != "v" {
		t.Fatalf("deleted experiment = %+v", got)
	}
	page, err := s.SearchExperiments(ctx, store.ExperimentQuery{ViewType: store.DeletedOnly})
	must(t, err, "SearchExperiments")
	if len(page.Experiments) != 1 || page.Experiments[0].ID != res.ID {
		t.Errorf("deleted experiments = %+v", page.Experiments)
	}
	del := t0 + 9
	r := store.ImportRun{Info: store.RunInfo{RunID: strings.Repeat("d", 32), ExperimentID: res.ID, RunName: "r", UserID: "u",
		Status: store.StatusFinished, StartTime: t0, EndTime: &del, LifecycleStage: store.LifecycleDeleted, DeletedTime: &del}}
	if _, err := s.ImportRun(ctx, r, chunks(nil, 1), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	run := getRun(t, s, r.Info.RunID)
	if run.Info.LifecycleStage != store.LifecycleDeleted || run.Info.DeletedTime == nil || *run.Info.DeletedTime != del {
		t.Errorf("run in the deleted experiment = %+v", run.Info)
	}
	_ = opts
}

// richRun returns a run to import and its metric points.
func richRun(expID string) (store.ImportRun, []store.Metric) {
	end := t0 + 100
	r := store.ImportRun{
		Info: store.RunInfo{RunID: strings.Repeat("a", 32), ExperimentID: expID, RunName: "rich ✓", UserID: "alice",
			Status: store.StatusFailed, StartTime: t0, EndTime: &end, LifecycleStage: store.LifecycleActive},
		Params: []store.Param{{Key: "alpha", Value: "0.5"}, {Key: "nested/p", Value: "line\r\nbreak"}, {Key: "long", Value: strings.Repeat("x", 6000)}},
		Tags:   []store.Tag{{Key: store.RunNameTag, Value: "rich ✓"}, {Key: "mlflow.parentRunId", Value: strings.Repeat("b", 32)}, {Key: "ünï", Value: "✓"}},
		Inputs: []store.DatasetInput{{
			Dataset: store.Dataset{Name: "train", Digest: "abc123", SourceType: "local", Source: `{"uri": "/data"}`, Schema: `{"mlflow_colspec": []}`},
			Tags:    []store.Tag{{Key: "mlflow.data.context", Value: "training"}},
		}},
	}
	var pts []store.Metric
	for i := range 25 {
		pts = append(pts, store.Metric{Key: "loss", Value: 1 / float64(i+1), Timestamp: t0 + int64(i), Step: int64(i - 3)})
	}
	pts = append(pts,
		store.Metric{Key: "odd", Value: math.NaN(), Timestamp: t0, Step: 0},
		store.Metric{Key: "odd", Value: math.Inf(1), Timestamp: t0 + 1, Step: 1},
		store.Metric{Key: "odd", Value: math.Copysign(0, -1), Timestamp: t0 + 2, Step: 2},
		store.Metric{Key: "odd", Value: 1e-05, Timestamp: t0 + 2, Step: 2},
		store.Metric{Key: "odd", Value: 1e-05, Timestamp: t0 + 2, Step: 2}, // a repeat: kept once by SQL stores
		store.Metric{Key: "a/b", Value: -2, Timestamp: t0, Step: 5},
	)
	return r, pts
}

func sameHistory(a, b []store.Metric) bool {
	return slices.EqualFunc(a, b, func(x, y store.Metric) bool {
		return x.Key == y.Key && x.Step == y.Step && x.Timestamp == y.Timestamp && sameFloat(x.Value, y.Value)
	})
}

func checkImportedRun(t *testing.T, s ImportStore, opts Options, r store.ImportRun, pts []store.Metric, res store.ImportResult) {
	t.Helper()
	got := getRun(t, s, r.Info.RunID)
	exp := getExperiment(t, s, r.Info.ExperimentID)
	in := got.Info
	if in.ExperimentID != r.Info.ExperimentID || in.RunName != r.Info.RunName || in.UserID != "alice" || in.Status != r.Info.Status ||
		in.StartTime != t0 || in.EndTime == nil || *in.EndTime != *r.Info.EndTime || in.LifecycleStage != store.LifecycleActive {
		t.Errorf("imported run info = %+v", in)
	}
	if want := strings.TrimRight(exp.ArtifactLocation, "/") + "/" + r.Info.RunID + "/artifacts"; in.ArtifactURI != want || res.ArtifactLocation != want {
		t.Errorf("artifact URI %q (reported %q), want %q", in.ArtifactURI, res.ArtifactLocation, want)
	}
	if len(got.Data.Params) != 3 || got.Data.Params[2].Key != "nested/p" || got.Data.Params[2].Value != "line\r\nbreak" {
		t.Errorf("params = %+v", got.Data.Params)
	}
	if len(got.Data.Tags) != 3 {
		t.Errorf("tags = %+v", got.Data.Tags)
	}
	if len(got.Inputs) != 1 || got.Inputs[0].Dataset != r.Inputs[0].Dataset || len(got.Inputs[0].Tags) != 1 {
		t.Errorf("inputs = %+v", got.Inputs)
	}
	for _, key := range []string{"loss", "odd", "a/b"} {
		var logged []store.Metric
		for _, p := range pts {
			if p.Key == key {
				logged = append(logged, p)
			}
		}
		want := opts.Metrics.History(logged)
		if h := history(t, s, r.Info.RunID, key); !sameHistory(h, want) {
			t.Errorf("history of %s = %v, want %v", key, h, want)
		}
		latest, _ := opts.Metrics.Latest(logged)
		if m, ok := got.Metric(key); !ok || !sameHistory([]store.Metric{m}, []store.Metric{latest}) {
			t.Errorf("latest %s = %v, want %v", key, m, latest)
		}
	}
}

func testImportRun(t *testing.T, s ImportStore, opts Options) {
	exp := importExperiment(t, s, store.ImportExperiment{ID: "1", Name: "e", LifecycleStage: store.LifecycleActive, CreationTime: t0, LastUpdateTime: t0})
	r, pts := richRun(exp.ID)
	res, err := s.ImportRun(ctx, r, chunks(pts, 7), store.ImportOptions{})
	must(t, err, "ImportRun")
	if !res.Created || res.ID != r.Info.RunID {
		t.Fatalf("ImportRun = %+v", res)
	}
	checkImportedRun(t, s, opts, r, pts, res)
	// The run takes normal writes afterwards.
	logBatch(t, s, r.Info.RunID, []store.Metric{{Key: "loss", Value: 0.01, Timestamp: t0 + 500, Step: 100}}, nil, nil)
}

func testImportRunIdempotent(t *testing.T, s ImportStore, opts Options) {
	exp := importExperiment(t, s, store.ImportExperiment{ID: "1", Name: "e", LifecycleStage: store.LifecycleActive, CreationTime: t0, LastUpdateTime: t0})
	r, pts := richRun(exp.ID)
	_, err := s.ImportRun(ctx, r, chunks(pts, 1000), store.ImportOptions{})
	must(t, err, "ImportRun")
	for _, dry := range []bool{true, false} {
		res, err := s.ImportRun(ctx, r, chunks(pts, 3), store.ImportOptions{DryRun: dry})
		must(t, err, "ImportRun again")
		if res.Created {
			t.Errorf("second import (dry run %v) created the run again", dry)
		}
	}
	checkImportedRun(t, s, opts, r, pts, store.ImportResult{ArtifactLocation: getRun(t, s, r.Info.RunID).Info.ArtifactURI})
}

func testImportRunConflicts(t *testing.T, s ImportStore, opts Options) {
	exp := importExperiment(t, s, store.ImportExperiment{ID: "1", Name: "e", LifecycleStage: store.LifecycleActive, CreationTime: t0, LastUpdateTime: t0})
	r, pts := richRun(exp.ID)
	_, err := s.ImportRun(ctx, r, chunks(pts, 1000), store.ImportOptions{})
	must(t, err, "ImportRun")
	other := importExperiment(t, s, store.ImportExperiment{ID: "2", Name: "other", LifecycleStage: store.LifecycleActive})
	changed := func(f func(r *store.ImportRun)) store.ImportRun {
		c := r
		c.Info.EndTime = r.Info.EndTime
		c.Params = slices.Clone(r.Params)
		c.Tags = slices.Clone(r.Tags)
		f(&c)
		return c
	}
	last := pts[len(pts)-1]
	for name, tc := range map[string]struct {
		r   store.ImportRun
		pts []store.Metric
	}{
		"param":      {changed(func(c *store.ImportRun) { c.Params[0].Value = "0.6" }), pts},
		"tag":        {changed(func(c *store.ImportRun) { c.Tags = c.Tags[:2] }), pts},
		"status":     {changed(func(c *store.ImportRun) { c.Info.Status = store.StatusKilled }), pts},
		"experiment": {changed(func(c *store.ImportRun) { c.Info.ExperimentID = other.ID }), pts},
		"point":      {r, append(slices.Clone(pts[:len(pts)-1]), store.Metric{Key: last.Key, Value: -3, Timestamp: last.Timestamp, Step: last.Step})},
		"fewer":      {r, pts[:len(pts)-1]},
		"more":       {r, append(slices.Clone(pts), store.Metric{Key: "extra", Value: 1, Timestamp: t0})},
	} {
		for _, dry := range []bool{true, false} {
			_, err := s.ImportRun(ctx, tc.r, chunks(tc.pts, 4), store.ImportOptions{DryRun: dry})
			if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), r.Info.RunID) {
				t.Errorf("%s (dry run %v): err = %v, want a conflict naming the run", name, dry, err)
			}
		}
	}
	checkImportedRun(t, s, opts, r, pts, store.ImportResult{ArtifactLocation: getRun(t, s, r.Info.RunID).Info.ArtifactURI})
}

func testImportRunBadInput(t *testing.T, s ImportStore, _ Options) {
	exp := importExperiment(t, s, store.ImportExperiment{ID: "1", Name: "e", LifecycleStage: store.LifecycleActive})
	r, pts := richRun(exp.ID)
	bad := append(slices.Clone(pts), store.Metric{Key: "../escape", Value: 1, Timestamp: t0})
	_, err := s.ImportRun(ctx, r, chunks(bad, 5), store.ImportOptions{})
	wantErr(t, err, store.ErrInvalidParameter, "a bad metric key at the end of the stream")
	interleaved := append(slices.Clone(pts), store.Metric{Key: "loss", Value: 1, Timestamp: t0})
	_, err = s.ImportRun(ctx, r, chunks(interleaved, 5), store.ImportOptions{})
	wantErr(t, err, store.ErrInvalidParameter, "a key whose points do not come together")
	failing := func(yield func([]store.Metric, error) bool) {
		if yield(pts[:3], nil) {
			yield(nil, errors.New("archive member truncated"))
		}
	}
	if _, err := s.ImportRun(ctx, r, failing, store.ImportOptions{}); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a failing stream: err = %v", err)
	}
	if _, err := s.GetRun(ctx, r.Info.RunID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed import left the run behind: %v", err)
	}
	badInfo := r
	badInfo.Info.LifecycleStage = "limbo"
	_, err = s.ImportRun(ctx, badInfo, chunks(nil, 1), store.ImportOptions{})
	wantErr(t, err, store.ErrInvalidParameter, "a bad lifecycle stage")
	noExp := r
	noExp.Info.ExperimentID = "424242"
	_, err = s.ImportRun(ctx, noExp, chunks(nil, 1), store.ImportOptions{})
	wantErr(t, err, store.ErrNotFound, "a missing experiment")
	// Nothing of the failed imports is visible.
	page, err := s.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{exp.ID}, ViewType: store.AllViews})
	must(t, err, "SearchRuns")
	if len(page.Runs) != 0 {
		t.Errorf("failed imports left %d runs", len(page.Runs))
	}
}

func testImportDryRun(t *testing.T, s ImportStore, _ Options) {
	dry := store.ImportOptions{DryRun: true}
	res, err := s.ImportExperiment(ctx, store.ImportExperiment{ID: "77", Name: "dry", LifecycleStage: store.LifecycleActive}, dry)
	must(t, err, "dry ImportExperiment")
	if !res.Created || res.ID != "77" {
		t.Errorf("dry ImportExperiment = %+v", res)
	}
	if _, err := s.GetExperimentByName(ctx, "dry"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a dry run created the experiment: %v", err)
	}
	r, pts := richRun("")
	res, err = s.ImportRun(ctx, r, chunks(pts, 10), dry)
	must(t, err, "dry ImportRun")
	if !res.Created {
		t.Errorf("dry ImportRun = %+v", res)
	}
	if _, err := s.GetRun(ctx, r.Info.RunID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a dry run created the run: %v", err)
	}
	if _, err := s.ImportRegisteredModel(ctx, &store.RegisteredModel{Name: "m"}, dry); err != nil {
		t.Fatal(err)
	}
	if res, err := s.ImportModelVersion(ctx, &store.ModelVersion{Name: "m", Version: 1, CurrentStage: store.StageNone, Source: "s", Status: store.ModelVersionReady}, dry); err != nil || !res.Created {
		t.Errorf("dry ImportModelVersion of a model still to be imported = %+v, %v", res, err)
	}
	if _, err := s.GetRegisteredModel(ctx, "m"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a dry run created the registered model: %v", err)
	}
}

func testImportRegistry(t *testing.T, s ImportStore, _ Options) {
	rm := &store.RegisteredModel{Name: "ridge ✓", CreationTimestamp: t0, LastUpdatedTimestamp: t0 + 50, Description: "best",
		Tags: map[string]string{"team": "ml"}}
	res, err := s.ImportRegisteredModel(ctx, rm, store.ImportOptions{})
	must(t, err, "ImportRegisteredModel")
	if !res.Created {
		t.Fatalf("ImportRegisteredModel = %+v", res)
	}
	runID := strings.Repeat("c", 32)
	versions := []*store.ModelVersion{
		{Name: rm.Name, Version: 1, CreationTimestamp: t0 + 1, LastUpdatedTimestamp: t0 + 2, CurrentStage: store.StageArchived,
			Source: "runs:/" + runID + "/model", RunID: runID, Status: store.ModelVersionReady, StorageLocation: "/x/artifacts/model",
			Tags: map[string]string{"v": "1"}},
		{Name: rm.Name, Version: 3, CreationTimestamp: t0 + 3, LastUpdatedTimestamp: t0 + 4, CurrentStage: store.StageProduction,
			Source: "file:///m", Status: store.ModelVersionReady, Description: "third", Aliases: []string{"champion", "prod"}},
	}
	for _, v := range versions {
		res, err := s.ImportModelVersion(ctx, v, store.ImportOptions{})
		must(t, err, "ImportModelVersion")
		if !res.Created {
			t.Errorf("ImportModelVersion %d = %+v", v.Version, res)
		}
	}
	got, err := s.GetRegisteredModel(ctx, rm.Name)
	must(t, err, "GetRegisteredModel")
	if got.CreationTimestamp != t0 || got.LastUpdatedTimestamp != t0+50 || got.Description != "best" || got.Tags["team"] != "ml" ||
		got.Aliases["champion"] != 3 || got.Aliases["prod"] != 3 || len(got.LatestVersions) != 2 {
		t.Errorf("registered model = %+v", got)
	}
	v3, err := s.GetModelVersion(ctx, rm.Name, 3)
	must(t, err, "GetModelVersion")
	if v3.CurrentStage != store.StageProduction || v3.CreationTimestamp != t0+3 || v3.LastUpdatedTimestamp != t0+4 ||
		v3.Description != "third" || !slices.Equal(v3.Aliases, []string{"champion", "prod"}) {
		t.Errorf("version 3 = %+v", v3)
	}
	v1, err := s.GetModelVersion(ctx, rm.Name, 1)
	must(t, err, "GetModelVersion 1")
	if v1.CurrentStage != store.StageArchived || v1.RunID != runID || v1.StorageLocation != "/x/artifacts/model" || v1.Tags["v"] != "1" {
		t.Errorf("version 1 = %+v", v1)
	}
	// The next version continues after the highest imported number.
	next, err := s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: rm.Name, Source: "file:///n"})
	must(t, err, "CreateModelVersion")
	if next.Version != 4 {
		t.Errorf("next version = %d, want 4", next.Version)
	}
	// Idempotent, and conflicts are refused.
	if res, err := s.ImportRegisteredModel(ctx, rm, store.ImportOptions{}); err != nil || res.Created {
		t.Errorf("re-import of the model = %+v, %v", res, err)
	}
	if res, err := s.ImportModelVersion(ctx, versions[1], store.ImportOptions{}); err != nil || res.Created {
		t.Errorf("re-import of version 3 = %+v, %v", res, err)
	}
	changed := *versions[0]
	changed.CurrentStage = store.StageStaging
	_, err = s.ImportModelVersion(ctx, &changed, store.ImportOptions{})
	wantErr(t, err, store.ErrConflict, "a version with another stage")
	alias := &store.ModelVersion{Name: rm.Name, Version: 2, CurrentStage: store.StageNone, Source: "s", Status: store.ModelVersionReady, Aliases: []string{"champion"}}
	_, err = s.ImportModelVersion(ctx, alias, store.ImportOptions{})
	wantErr(t, err, store.ErrConflict, "an alias pointing elsewhere")
	if _, err := s.GetModelVersion(ctx, rm.Name, 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused version 2 was written: %v", err)
	}
	other := *rm
	other.Description = "another"
	_, err = s.ImportRegisteredModel(ctx, &other, store.ImportOptions{})
	wantErr(t, err, store.ErrConflict, "a model with another description")
	_, err = s.ImportModelVersion(ctx, &store.ModelVersion{Name: "missing", Version: 1, CurrentStage: store.StageNone, Source: "s", Status: store.ModelVersionReady}, store.ImportOptions{})
	wantErr(t, err, store.ErrNotFound, "a version of a missing model")
}

func testImportLoggedModel(t *testing.T, s ImportStore, opts Options) {
	lms, ok := store.AsLoggedModels(s)
	if !ok {
		_, err := s.ImportLoggedModel(ctx, &store.LoggedModel{ModelID: "m-" + strings.Repeat("1", 32), ExperimentID: "0", Name: "m"}, store.ImportOptions{})
		wantErr(t, err, store.ErrInvalidState, "ImportLoggedModel without logged models")
		return
	}
	exp := importExperiment(t, s, store.ImportExperiment{ID: "1", Name: "e", LifecycleStage: store.LifecycleActive})
	r, pts := richRun(exp.ID)
	id := "m-" + strings.Repeat("f", 32)
	r.Outputs = []store.LoggedModelOutput{{ModelID: id, Step: 3}}
	_, err := s.ImportRun(ctx, r, chunks(pts, 100), store.ImportOptions{})
	must(t, err, "ImportRun")
	m := &store.LoggedModel{ModelID: id, ExperimentID: exp.ID, Name: "model", ModelType: "regressor", SourceRunID: r.Info.RunID,
		Status: store.LoggedModelReady, CreationTimestamp: t0, LastUpdatedTimestamp: t0 + 7,
		Tags: map[string]string{"t": "v"}, Params: map[string]string{"p": "1"},
		Metrics: []store.LoggedModelMetric{
			{Key: "acc", Value: 0.9, Timestamp: t0, Step: 3, RunID: r.Info.RunID},
			{Key: "acc", Value: 0.8, Timestamp: t0, Step: 1, RunID: r.Info.RunID, DatasetName: "train", DatasetDigest: "abc123"},
		}}
	res, err := s.ImportLoggedModel(ctx, m, store.ImportOptions{})
	must(t, err, "ImportLoggedModel")
	if !res.Created || !strings.HasSuffix(res.ArtifactLocation, "/models/"+id+"/artifacts") {
		t.Fatalf("ImportLoggedModel = %+v", res)
	}
	got, err := lms.GetLoggedModel(ctx, id)
	must(t, err, "GetLoggedModel")
	if got.Name != "model" || got.ModelType != "regressor" || got.Status != store.LoggedModelReady || got.CreationTimestamp != t0 ||
		got.LastUpdatedTimestamp != t0+7 || got.Tags["t"] != "v" || got.Params["p"] != "1" || len(got.Metrics) != 2 || got.ArtifactLocation != res.ArtifactLocation {
		t.Errorf("logged model = %+v", got)
	}
	outs, err := lms.GetRunOutputs(ctx, r.Info.RunID)
	must(t, err, "GetRunOutputs")
	if len(outs) != 1 || outs[0] != r.Outputs[0] {
		t.Errorf("outputs = %+v", outs)
	}
	if res, err := s.ImportLoggedModel(ctx, m, store.ImportOptions{}); err != nil || res.Created {
		t.Errorf("re-import = %+v, %v", res, err)
	}
	if res, err := s.ImportRun(ctx, r, chunks(pts, 100), store.ImportOptions{}); err != nil || res.Created {
		t.Errorf("re-import of the run with outputs = %+v, %v", res, err)
	}
	c := *m
	c.Name = "renamed"
	_, err = s.ImportLoggedModel(ctx, &c, store.ImportOptions{})
	wantErr(t, err, store.ErrConflict, "a model with another name")
	_ = opts
}

func testPurge(t *testing.T, s ImportStore, _ Options) {
	exp := createExperiment(t, s, "p")
	keep := createRun(t, s, exp, "keep", t0)
	gone := createRun(t, s, exp, "gone", t0)
	logBatch(t, s, gone.Info.RunID, []store.Metric{{Key: "m", Value: 1, Timestamp: t0}}, []store.Param{{Key: "p", Value: "1"}}, nil)
	wantErr(t, s.PurgeRun(ctx, gone.Info.RunID), store.ErrInvalidState, "PurgeRun of an active run")
	must(t, s.DeleteRun(ctx, gone.Info.RunID), "DeleteRun")
	must(t, s.PurgeRun(ctx, gone.Info.RunID), "PurgeRun")
	if _, err := s.GetRun(ctx, gone.Info.RunID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purged run: %v", err)
	}
	getRun(t, s, keep.Info.RunID)

	dexp := createExperiment(t, s, "deleted")
	inDeleted := createRun(t, s, dexp, "r", t0)
	wantErr(t, s.PurgeExperiment(ctx, dexp), store.ErrInvalidState, "PurgeExperiment of an active experiment")
	must(t, s.DeleteExperiment(ctx, dexp), "DeleteExperiment")
	must(t, s.PurgeExperiment(ctx, dexp), "PurgeExperiment")
	if _, err := s.GetExperiment(ctx, dexp); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purged experiment: %v", err)
	}
	if _, err := s.GetRun(ctx, inDeleted.Info.RunID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("run of the purged experiment: %v", err)
	}
	// The name is free again.
	createExperiment(t, s, "deleted")

	lms, ok := store.AsLoggedModels(s)
	if !ok {
		del, err := s.ListDeletedLoggedModels(ctx)
		if err != nil || len(del) != 0 {
			t.Errorf("ListDeletedLoggedModels without logged models = %v, %v", del, err)
		}
		return
	}
	m, err := lms.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{ExperimentID: exp, Name: "m"})
	must(t, err, "CreateLoggedModel")
	wantErr(t, s.PurgeLoggedModel(ctx, m.ModelID), store.ErrInvalidState, "PurgeLoggedModel of an active model")
	must(t, lms.DeleteLoggedModel(ctx, m.ModelID), "DeleteLoggedModel")
	del, err := s.ListDeletedLoggedModels(ctx)
	must(t, err, "ListDeletedLoggedModels")
	if len(del) != 1 || del[0].ModelID != m.ModelID || del[0].ArtifactLocation != m.ArtifactLocation {
		t.Fatalf("ListDeletedLoggedModels = %+v", del)
	}
	must(t, s.PurgeLoggedModel(ctx, m.ModelID), "PurgeLoggedModel")
	if del, _ := s.ListDeletedLoggedModels(ctx); len(del) != 0 {
		t.Errorf("after the purge ListDeletedLoggedModels = %+v", del)
	}
}
