package reststore_test

import (
	"encoding/json"
	"testing"

	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/reststore"
)

// TestMlrunToServer: the same mlrun code that logs to a local store logs
// to a team's server when MLFLOW_TRACKING_URI is its http URL, and
// MLflow's Python client reads the run from the server.
func TestMlrunToServer(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			openFresh(t, v).Close()
			srv := sharedServer(t, v)
			t.Setenv("MLFLOW_TRACKING_URI", srv.URL)
			c, err := mlrun.Open(ctx, mlrun.WithUser("alice"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, ok := c.Store().(*reststore.Store); !ok {
				t.Fatalf("store %T", c.Store())
			}
			if _, err := c.SetExperiment(ctx, "team"); err != nil {
				t.Fatal(err)
			}
			run, err := c.StartRun(ctx, mlrun.WithRunName("alpha-0.1"))
			if err != nil {
				t.Fatal(err)
			}
			if err := run.LogParam(ctx, "alpha", 0.1); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := run.LogMetric(ctx, "rmse", 1/float64(i+1), mlrun.WithStep(int64(i))); err != nil {
					t.Fatal(err)
				}
			}
			if err := run.SetTag(ctx, "team", "vision"); err != nil {
				t.Fatal(err)
			}
			if err := run.End(ctx); err != nil {
				t.Fatal(err)
			}
			out := mlflowtest.Run(t, v, t.TempDir(), `
import json, sys
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
r = c.get_run(sys.argv[2])
h = c.get_metric_history(sys.argv[2], "rmse")
exp = c.get_experiment(r.info.experiment_id)
print(json.dumps({"status": r.info.status, "name": r.info.run_name, "user": r.info.user_id, "exp": exp.name,
    "params": r.data.params, "tags": {k: v for k, v in r.data.tags.items() if k == "team"},
    "history": [[m.step, m.value] for m in h]}))
`, srv.URL, run.ID())
			var got struct {
				Status, Name, User, Exp string
				Params, Tags            map[string]string
				History                 [][2]float64
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if got.Status != "FINISHED" || got.Name != "alpha-0.1" || got.User != "alice" || got.Exp != "team" ||
				got.Params["alpha"] != "0.1" || got.Tags["team"] != "vision" || len(got.History) != 3 || got.History[2] != [2]float64{2, 1.0 / 3} {
				t.Errorf("MLflow reads %s", out)
			}
		})
	}
}
