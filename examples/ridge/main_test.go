package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// TestSweep runs the example into a temp store and checks what it logged:
// a parent with one nested child per alpha, a metric per epoch, the best
// child tagged, and the table and plot artifacts.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	uri := filepath.Join(t.TempDir(), "mlruns")
	var out bytes.Buffer
	if err := run(ctx, &out, uri); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "mlflow ui --backend-store-uri "+uri) {
		t.Errorf("output lacks the mlflow ui command:\n%s", out.String())
	}
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exp, err := c.GetExperimentByName(ctx, experimentName)
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{exp.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Runs) != len(alphas)+1 {
		t.Fatalf("%d runs, want %d", len(page.Runs), len(alphas)+1)
	}
	var parent *store.Run
	for _, r := range page.Runs {
		if r.Info.RunName == "alpha-sweep" {
			parent = r
		}
	}
	if parent == nil {
		t.Fatal("no parent run")
	}
	bestID, _ := parent.Tag("best_run_id")
	bestAlpha, _ := parent.Param("best_alpha")
	children := 0
	for _, r := range page.Runs {
		if r == parent {
			continue
		}
		children++
		if p, _ := r.Tag(mlrun.TagParentRunID); p != parent.Info.RunID {
			t.Errorf("run %s not nested under the parent", r.Info.RunName)
		}
		if r.Info.Status != store.StatusFinished {
			t.Errorf("run %s status %v", r.Info.RunName, r.Info.Status)
		}
		h, err := c.GetMetricHistory(ctx, r.Info.RunID, "valid_rmse")
		if err != nil || len(h) != epochs {
			t.Errorf("run %s: %d valid_rmse points (%v), want %d", r.Info.RunName, len(h), err, epochs)
		}
		best, _ := r.Tag("best")
		if (best == "true") != (r.Info.RunID == bestID) {
			t.Errorf("run %s best tag %q, best run %s", r.Info.RunName, best, bestID)
		}
		if r.Info.RunID == bestID {
			if a, _ := r.Param("alpha"); a != bestAlpha {
				t.Errorf("best run alpha %s, parent says %s", a, bestAlpha)
			}
		}
	}
	// Regularisation must pay off on this data set, or the example shows nothing.
	if bestAlpha == "0.0" || bestAlpha == "" {
		t.Errorf("best alpha %q: the sweep shows no benefit of ridge", bestAlpha)
	}
	arts, err := c.ListArtifacts(ctx, parent.Info.RunID, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range arts {
		names = append(names, a.Path)
	}
	if got := strings.Join(names, ","); got != "plots,sweep.json" {
		t.Errorf("parent artifacts %s", got)
	}
}

// TestSweepSQLite runs the example into a new MLflow SQLite database (the
// default store of `go run ./examples/ridge`) and checks that the best
// model was registered there: in Production, with the alias champion,
// and found by models:/ridge-sweep@champion.
func TestSweepSQLite(t *testing.T) {
	ctx := context.Background()
	// Artifacts go to ./mlruns, as with MLflow's client: run in a temp dir.
	dir := t.TempDir()
	t.Chdir(dir)
	uri := "sqlite:///" + filepath.Join(dir, "mlflow.db")
	var out bytes.Buffer
	if err := run(ctx, &out, uri); err != nil {
		t.Fatal(err)
	}
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Registry()
	if err != nil {
		t.Fatalf("the SQLite store has no registry: %v", err)
	}
	mv, err := r.GetModelVersionByAlias(ctx, registeredModelName, championAlias)
	if err != nil {
		t.Fatal(err)
	}
	if mv.Version != 1 || mv.CurrentStage != store.StageProduction || mv.RunID == "" || mv.Tags["alpha"] == "" {
		t.Errorf("champion %+v", mv)
	}
	if !strings.Contains(out.String(), "models:/ridge-sweep@champion") {
		t.Errorf("output does not mention the registered model:\n%s", out.String())
	}
	// The model is an MLflow 3 logged model of the best run, READY, and
	// the version's source is its models:/<model_id>.
	if c.ModelLayout() != mlrun.LayoutMLflow3 {
		t.Errorf("layout %v, want mlflow3", c.ModelLayout())
	}
	exp, err := c.GetExperimentByName(ctx, experimentName)
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{exp.ID}})
	if err != nil || len(page.Models) != 1 {
		t.Fatalf("logged models %+v %v", page, err)
	}
	lm := page.Models[0]
	if lm.Status != store.LoggedModelReady || lm.SourceRunID != mv.RunID || mv.Source != lm.URI() || mv.StorageLocation != lm.ArtifactLocation {
		t.Errorf("logged model %+v, version %+v", lm, mv)
	}
}
