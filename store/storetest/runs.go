package storetest

import (
	"regexp"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

func testCreateRunNamed(t *testing.T, s store.Store) {
	exp := createExperiment(t, s, "runs")
	r := createRun(t, s, exp, "my-run", 1714000000123, store.Tag{Key: "k", Value: "v"})
	check := func(what string, r *store.Run) {
		t.Helper()
		i := r.Info
		if err := store.ValidateRunID(i.RunID); err != nil || len(i.RunID) != 32 {
			t.Errorf("%s: run id %q", what, i.RunID)
		}
		if i.ExperimentID != exp || i.RunName != "my-run" || i.UserID != "alice" || i.StartTime != 1714000000123 {
			t.Errorf("%s: info = %+v", what, i)
		}
		if i.Status != store.StatusRunning || i.LifecycleStage != store.LifecycleActive || i.EndTime != nil {
			t.Errorf("%s: status %v, lifecycle %q, end %v", what, i.Status, i.LifecycleStage, i.EndTime)
		}
		if i.ArtifactURI == "" {
			t.Errorf("%s: no artifact URI", what)
		}
		wantRunData(t, r, nil, map[string]string{}, map[string]string{"k": "v", "mlflow.runName": "my-run"})
	}
	check("CreateRun", r)
	got := getRun(t, s, r.Info.RunID)
	check("GetRun", got)
	if got.Info.ArtifactURI != r.Info.ArtifactURI {
		t.Errorf("artifact URI %q, CreateRun said %q", got.Info.ArtifactURI, r.Info.ArtifactURI)
	}
	// Runs in the Default experiment.
	r0 := createRun(t, s, store.DefaultExperimentID, "in default", 0)
	if r0.Info.ExperimentID != store.DefaultExperimentID {
		t.Errorf("run in Default has experiment %q", r0.Info.ExperimentID)
	}
	if r0.Info.StartTime == 0 {
		t.Error("StartTime 0 did not default to now")
	}
	if r0.Info.RunID == r.Info.RunID {
		t.Error("two runs share an id")
	}
}

var generatedName = regexp.MustCompile(`^[a-z]+-[a-z]+-\d+$`)

func testCreateRunGeneratedName(t *testing.T, s store.Store) {
	for range 5 {
		r := createRun(t, s, store.DefaultExperimentID, "", 0)
		if !generatedName.MatchString(r.Info.RunName) {
			t.Errorf("generated name %q does not match %v", r.Info.RunName, generatedName)
		}
		got := getRun(t, s, r.Info.RunID)
		if got.Info.RunName != r.Info.RunName {
			t.Errorf("GetRun name %q, CreateRun said %q", got.Info.RunName, r.Info.RunName)
		}
		if v, ok := got.Tag("mlflow.runName"); !ok || v != r.Info.RunName {
			t.Errorf("mlflow.runName tag = %q (%v), want %q", v, ok, r.Info.RunName)
		}
	}
}

func testCreateRunNameFromTag(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "", 0, store.Tag{Key: "mlflow.runName", Value: "from-tag"})
	if r.Info.RunName != "from-tag" || getRun(t, s, r.Info.RunID).Info.RunName != "from-tag" {
		t.Errorf("run name %q, want from-tag", r.Info.RunName)
	}
	r = createRun(t, s, store.DefaultExperimentID, "same", 0, store.Tag{Key: "mlflow.runName", Value: "same"})
	if r.Info.RunName != "same" {
		t.Errorf("run name %q, want same", r.Info.RunName)
	}
	_, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: "a", Tags: []store.Tag{{Key: "mlflow.runName", Value: "b"}}})
	wantErr(t, err, store.ErrInvalidParameter, "CreateRun with a conflicting mlflow.runName tag")
}

func testCreateRunErrors(t *testing.T, s store.Store) {
	_, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "123456789012345678", UserID: "u"})
	wantErr(t, err, store.ErrNotFound, "CreateRun in an unknown experiment")
	_, err = s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", Tags: []store.Tag{{Key: "../x", Value: "v"}}})
	wantErr(t, err, store.ErrInvalidParameter, "CreateRun with a bad tag key")
	p, err := s.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{"0"}, ViewType: store.AllViews})
	must(t, err, "SearchRuns")
	if len(p.Runs) != 0 {
		t.Errorf("failed CreateRun left %d runs", len(p.Runs))
	}
}

func testGetRunNotFound(t *testing.T, s store.Store) {
	_, err := s.GetRun(ctx, "0123456789abcdef0123456789abcdef")
	wantErr(t, err, store.ErrNotFound, "GetRun(unknown)")
	_, err = s.GetMetricHistory(ctx, "0123456789abcdef0123456789abcdef", "m")
	wantErr(t, err, store.ErrNotFound, "GetMetricHistory(unknown run)")
	err = s.LogBatch(ctx, "0123456789abcdef0123456789abcdef", []store.Metric{{Key: "m", Value: 1}}, nil, nil)
	wantErr(t, err, store.ErrNotFound, "LogBatch(unknown run)")
	_, err = s.UpdateRun(ctx, "0123456789abcdef0123456789abcdef", store.RunUpdate{Status: store.StatusFinished})
	wantErr(t, err, store.ErrNotFound, "UpdateRun(unknown run)")
	wantErr(t, s.DeleteRun(ctx, "0123456789abcdef0123456789abcdef"), store.ErrNotFound, "DeleteRun(unknown run)")
	if _, err := s.GetRun(ctx, "../../etc"); err == nil {
		t.Error("GetRun(../../etc) succeeded")
	}
}

func testUpdateRun(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "before", 1000)
	end := int64(5000)
	info, err := s.UpdateRun(ctx, r.Info.RunID, store.RunUpdate{Status: store.StatusFinished, EndTime: &end})
	must(t, err, "UpdateRun")
	if info.Status != store.StatusFinished || info.EndTime == nil || *info.EndTime != end || info.RunName != "before" {
		t.Errorf("UpdateRun returned %+v", info)
	}
	got := getRun(t, s, r.Info.RunID)
	if got.Info.Status != store.StatusFinished || got.Info.EndTime == nil || *got.Info.EndTime != end {
		t.Errorf("after UpdateRun: %+v", got.Info)
	}
	// Zero fields are left alone; a name is also written to the tag.
	info, err = s.UpdateRun(ctx, r.Info.RunID, store.RunUpdate{RunName: "after"})
	must(t, err, "UpdateRun name")
	if info.RunName != "after" || info.Status != store.StatusFinished || info.EndTime == nil || *info.EndTime != end {
		t.Errorf("UpdateRun(name) returned %+v", info)
	}
	got = getRun(t, s, r.Info.RunID)
	if got.Info.RunName != "after" || got.Info.StartTime != 1000 {
		t.Errorf("after rename: %+v", got.Info)
	}
	if v, _ := got.Tag("mlflow.runName"); v != "after" {
		t.Errorf("mlflow.runName tag = %q, want after", v)
	}
	for _, st := range []store.RunStatus{store.StatusFailed, store.StatusKilled, store.StatusScheduled, store.StatusRunning} {
		_, err := s.UpdateRun(ctx, r.Info.RunID, store.RunUpdate{Status: st})
		must(t, err, "UpdateRun "+st.String())
		if got := getRun(t, s, r.Info.RunID).Info.Status; got != st {
			t.Errorf("status = %v, want %v", got, st)
		}
	}
}

func testDeleteRestoreRun(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "doomed", 0)
	logBatch(t, s, r.Info.RunID, []store.Metric{{Key: "m", Value: 2, Timestamp: 3, Step: 4}}, []store.Param{{Key: "p", Value: "1"}}, nil)
	must(t, s.DeleteRun(ctx, r.Info.RunID), "DeleteRun")
	got := getRun(t, s, r.Info.RunID)
	if got.Info.LifecycleStage != store.LifecycleDeleted {
		t.Errorf("lifecycle after delete = %q", got.Info.LifecycleStage)
	}
	wantRunData(t, got, []store.Metric{{Key: "m", Value: 2, Timestamp: 3, Step: 4}}, map[string]string{"p": "1"}, nil)
	must(t, s.RestoreRun(ctx, r.Info.RunID), "RestoreRun")
	got = getRun(t, s, r.Info.RunID)
	if got.Info.LifecycleStage != store.LifecycleActive || got.Info.DeletedTime != nil {
		t.Errorf("after restore: lifecycle %q, deleted time %v", got.Info.LifecycleStage, got.Info.DeletedTime)
	}
	logBatch(t, s, r.Info.RunID, []store.Metric{{Key: "m", Value: 3, Timestamp: 4, Step: 5}}, nil, nil)
}

func testDeleteTag(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "tags", 0)
	logBatch(t, s, r.Info.RunID, nil, nil, []store.Tag{{Key: "a", Value: "1"}, {Key: "b/c", Value: "2"}})
	must(t, s.DeleteTag(ctx, r.Info.RunID, "a"), "DeleteTag a")
	must(t, s.DeleteTag(ctx, r.Info.RunID, "b/c"), "DeleteTag b/c")
	wantRunData(t, getRun(t, s, r.Info.RunID), nil, nil, map[string]string{"mlflow.runName": "tags"})
	wantErr(t, s.DeleteTag(ctx, r.Info.RunID, "a"), store.ErrNotFound, "DeleteTag of a deleted tag")
	wantErr(t, s.DeleteTag(ctx, r.Info.RunID, "never"), store.ErrNotFound, "DeleteTag of a missing tag")
	logBatch(t, s, r.Info.RunID, nil, nil, []store.Tag{{Key: "a", Value: "again"}})
	wantRunData(t, getRun(t, s, r.Info.RunID), nil, nil, map[string]string{"mlflow.runName": "tags", "a": "again"})
}
