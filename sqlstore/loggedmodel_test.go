package sqlstore_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

// TestLoggedModelsConformance runs the shared logged-model suite against
// an MLflow 3.17.2 database, with MLflow's SQL-store rules.
func TestLoggedModelsConformance(t *testing.T) {
	storetest.RunLoggedModels(t, func(t *testing.T) storetest.LMStore {
		s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "mlflow.db"),
			&sqlstore.Options{MLflowVersion: "3.17.2", ArtifactRoot: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if !s.HasLoggedModels() {
			t.Fatal("an MLflow 3.17.2 database has no logged models")
		}
		return s
	}, storetest.Options{Metrics: storetest.SQLMetrics, State: conformanceState})
}

// TestNoLoggedModelsOn2 checks that a 2.22.5 database (no logged-model
// tables) says so: HasLoggedModels is false, store.AsLoggedModels refuses
// it, and every method fails with store.ErrInvalidState.
func TestNoLoggedModelsOn2(t *testing.T) {
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "mlflow.db"), &sqlstore.Options{MLflowVersion: "2.22.5", ArtifactRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.HasLoggedModels() {
		t.Fatal("HasLoggedModels on a 2.22.5 schema")
	}
	if _, ok := store.AsLoggedModels(s); ok {
		t.Fatal("store.AsLoggedModels accepts a 2.22.5 schema")
	}
	id := store.NewLoggedModelID()
	_, err1 := s.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{Name: "m"})
	_, err2 := s.GetLoggedModel(ctx, id)
	_, err3 := s.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{"0"}})
	err4 := s.LogOutputs(ctx, store.NewRunID(), nil)
	_, err5 := s.GetRunOutputs(ctx, store.NewRunID())
	err6 := s.SetLoggedModelTags(ctx, id, nil)
	for i, err := range []error{err1, err2, err3, err4, err5, err6} {
		if !errors.Is(err, store.ErrInvalidState) {
			t.Errorf("call %d: %v, want ErrInvalidState", i+1, err)
		}
	}
}

// TestModelVersionFromLoggedModel checks create_model_version's MLflow 3
// resolution: a models:/<model_id> source gets the model's artifact
// location as storage_location and its source run as run_id; ModelID
// alone gives the run id; an unknown model is store.ErrNotFound.
func TestModelVersionFromLoggedModel(t *testing.T) {
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "mlflow.db"), &sqlstore.Options{ArtifactRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, err := s.CreateRun(ctx, store.CreateRunRequest{UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	lm, err := s.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{Name: "m", SourceRunID: run.Info.RunID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRegisteredModel(ctx, "reg", nil, ""); err != nil {
		t.Fatal(err)
	}
	mv, err := s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "reg", Source: lm.URI()})
	if err != nil || mv.StorageLocation != lm.ArtifactLocation || mv.RunID != run.Info.RunID || mv.Source != lm.URI() {
		t.Errorf("from models:/: %+v %v", mv, err)
	}
	mv, err = s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "reg", Source: "/elsewhere", ModelID: lm.ModelID})
	if err != nil || mv.StorageLocation != "/elsewhere" || mv.RunID != run.Info.RunID {
		t.Errorf("with model_id: %+v %v", mv, err)
	}
	_, err = s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "reg", Source: "models:/" + store.NewLoggedModelID()})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown model: %v", err)
	}
}
