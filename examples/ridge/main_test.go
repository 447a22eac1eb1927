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
