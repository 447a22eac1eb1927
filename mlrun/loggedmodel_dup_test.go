package mlrun_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// TestLogModelSameStepAndTime logs a model (MLflow 3 layout) from a run
// whose LogBatch logged two points of one key at the same step and
// timestamp, with different values, which LogModel copies to the model: on
// SQLite, whose logged_model_metrics primary key has no value column, this
// failed ("Metric 'loss' of model ... was already logged") and left a
// FAILED model. On both backends the model is now READY with the larger
// value, and real MLflow 3.17.2 reads it so.
func TestLogModelSameStepAndTime(t *testing.T) {
	ctx := context.Background()
	for _, backend := range []string{"sqlite", "file"} {
		t.Run(backend, func(t *testing.T) {
			var c *mlrun.Client
			if backend == "sqlite" {
				c = openSQLiteTemp(t, "3.17.2")
			} else {
				c, _ = openTemp(t)
			}
			run, err := c.StartRun(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = run.LogBatch(ctx, []store.Metric{
				{Key: "loss", Value: 0.5, Timestamp: 1000, Step: 1},
				{Key: "loss", Value: 0.6, Timestamp: 1000, Step: 1},
				{Key: "acc", Value: 0.9, Timestamp: 1000, Step: 1},
			}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			lm, err := run.LogModel(ctx, "model", mlrun.Model{
				Flavors: map[string]map[string]any{"go_ridge": {"data": "w.json"}},
				Files:   map[string][]byte{"w.json": []byte("[1]")},
				Step:    1,
			})
			if err != nil {
				t.Fatalf("LogModel: %v", err)
			}
			if err := run.End(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := c.GetLoggedModel(ctx, lm.ModelID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != store.LoggedModelReady {
				t.Errorf("model status %v, want READY", got.Status)
			}
			if m, ok := got.Metric("loss"); !ok || m.Value != 0.6 {
				t.Errorf("model loss = %+v (%v), want 0.6", m, ok)
			}

			out := mlflowtest.Run(t, "3.17.2", t.TempDir(), `
import json, os, sys
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
from mlflow import MlflowClient
m = MlflowClient(tracking_uri=sys.argv[1]).get_logged_model(sys.argv[2])
print(json.dumps({"status": str(m.status), "metrics": sorted([x.key, x.value, x.step, x.timestamp] for x in m.metrics)}))
`, c.TrackingURI(), lm.ModelID)
			var py struct {
				Status  string  `json:"status"`
				Metrics [][]any `json:"metrics"`
			}
			if err := json.Unmarshal(out[strings.LastIndexByte(strings.TrimSpace(string(out)), '\n')+1:], &py); err != nil {
				t.Fatalf("MLflow output %q: %v", out, err)
			}
			want := `[["acc",0.9,1,1000],["loss",0.6,1,1000]]`
			if g, _ := json.Marshal(py.Metrics); string(g) != want || py.Status != "READY" {
				t.Errorf("MLflow 3.17.2 reads status %s, metrics %s; want READY, %s", py.Status, g, want)
			}
		})
	}
}
