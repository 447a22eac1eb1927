package sqlstore_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// schemaVersions are the MLflow releases the light schema tests run for
// real: the pinned ones and internal/compat/mlflow-extra-versions.txt's.
func schemaVersions() []string {
	out := slices.Clone(versions)
	for _, v := range mlflowtest.ExtraVersions() {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// pyPrelude imports MLflow, then captures Python warnings and MLflow's log
// records at WARNING and above (MLflow's loggers do not propagate), and
// prints them with the script's result on one "RESULT" line. Warnings of the
// import itself (MLflow 2.22.5's pydantic models) say nothing about the
// database and are not captured.
const pyPrelude = `
import json, logging, sys, warnings
from mlflow import MlflowClient
warnings.simplefilter("always")
_caught = []
warnings.showwarning = lambda m, c, f, l, file=None, line=None: _caught.append("%s: %s" % (c.__name__, m))
class _H(logging.Handler):
    def emit(self, r):
        _caught.append("log %s %s: %s" % (r.levelname, r.name, r.getMessage()))
for _n in ("", "mlflow", "alembic"):
    logging.getLogger(_n).addHandler(_H(level=logging.WARNING))
def result(d):
    d["warnings"] = _caught
    print("RESULT " + json.dumps(d))
`

// readScript reads a run (info, params, tags, latest metrics, history of
// "m") and a registered model with its versions, from argv: uri, run id,
// model name.
const readScript = pyPrelude + `
uri, run_id, model = sys.argv[1:4]
c = MlflowClient(uri)
r = c.get_run(run_id)
hist = [[m.step, m.value, m.timestamp] for m in c.get_metric_history(run_id, "m")]
rm = c.get_registered_model(model)
mvs = sorted(c.search_model_versions("name='%s'" % model), key=lambda v: int(v.version))
result({
    "run": [r.info.run_name, r.info.status, r.info.experiment_id],
    "params": r.data.params,
    "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")},
    "metrics": r.data.metrics,
    "history": hist,
    "model": [rm.name, rm.description or ""],
    "versions": [[int(v.version), v.source, v.run_id, v.current_stage] for v in mvs],
    "experiments": sorted(e.name for e in c.search_experiments()),
})
`

// writeScript has MLflow write into the database at argv[1] (a new file:
// MLflow creates it): an experiment, a run with params, tags and three points
// of "m", a registered model and a version of it. It prints their ids.
const writeScript = pyPrelude + `
uri = sys.argv[1]
c = MlflowClient(uri)
exp = c.create_experiment("py-exp")
r = c.create_run(exp, run_name="py-run", tags={"team": "py"})
c.log_param(r.info.run_id, "lr", "0.1")
for i in range(3):
    c.log_metric(r.info.run_id, "m", i * 0.5, timestamp=1000 + i, step=i)
c.set_terminated(r.info.run_id)
c.create_registered_model("py-model", description="from python")
c.create_model_version("py-model", "runs:/%s/model" % r.info.run_id, run_id=r.info.run_id)
result({"experiment_id": exp, "run_id": r.info.run_id})
`

type pyRead struct {
	Run         []string           `json:"run"`
	Params      map[string]string  `json:"params"`
	Tags        map[string]string  `json:"tags"`
	Metrics     map[string]float64 `json:"metrics"`
	History     [][]float64        `json:"history"`
	Model       []string           `json:"model"`
	Versions    [][]any            `json:"versions"`
	Experiments []string           `json:"experiments"`
	Warnings    []string           `json:"warnings"`
}

// runPy runs a script with MLflow version and decodes its RESULT line into
// v; a warning on stderr or in the result fails t.
func runPy(t *testing.T, version, dir, script string, v any, args ...string) {
	t.Helper()
	out, stderr, err := mlflowtest.RunErr(t, version, dir, script, args...)
	if err != nil {
		t.Fatalf("MLflow %s: %v\nstderr:\n%s", version, err, stderr)
	}
	for _, l := range strings.Split(string(stderr), "\n") {
		if problemLine.MatchString(l) && len(unexpected([]string{l})) > 0 {
			t.Errorf("MLflow %s stderr: %s", version, l)
		}
	}
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(l, "RESULT "); ok {
			line = rest
		}
	}
	if line == "" {
		t.Fatalf("MLflow %s printed no RESULT:\n%s\n%s", version, out, stderr)
	}
	must(t, json.Unmarshal([]byte(line), v))
	var w struct {
		Warnings []string `json:"warnings"`
	}
	must(t, json.Unmarshal([]byte(line), &w))
	if u := unexpected(w.Warnings); len(u) > 0 {
		t.Errorf("MLflow %s warned: %q", version, u)
	}
}

// TestMLflowVersionsReadGoDB has each MLflow release of schemaVersions open
// a database mlrun created for it and read runs, metrics and the registry
// with no warning, and checks what it read.
func TestMLflowVersionsReadGoDB(t *testing.T) {
	for _, v := range schemaVersions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			mlflowtest.Python(t, v)
			dir := t.TempDir()
			path := filepath.Join(dir, "mlflow.db")
			s, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: v, ArtifactRoot: filepath.Join(dir, "mlruns")})
			must(t, err)
			exp, err := s.CreateExperiment(ctx, "go-exp", "", nil)
			must(t, err)
			r, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: exp, RunName: "go-run", UserID: "u",
				Tags: []store.Tag{{Key: "team", Value: "go"}}})
			must(t, err)
			id := r.Info.RunID
			var ms []store.Metric
			for i := range 5 {
				ms = append(ms, store.Metric{Key: "m", Value: float64(i) * 1.5, Timestamp: int64(2000 + i), Step: int64(i)})
			}
			must(t, s.LogBatch(ctx, id, ms, []store.Param{{Key: "lr", Value: "0.01"}}, nil))
			end := int64(3000)
			_, err = s.UpdateRun(ctx, id, store.RunUpdate{Status: store.StatusFinished, EndTime: &end})
			must(t, err)
			_, err = s.CreateRegisteredModel(ctx, "go-model", nil, "from go")
			must(t, err)
			_, err = s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "go-model", Source: "runs:/" + id + "/model", RunID: id})
			must(t, err)
			must(t, s.Close())

			var got pyRead
			runPy(t, v, dir, readScript, &got, "sqlite:///"+path, id, "go-model")
			want := pyRead{
				Run: []string{"go-run", "FINISHED", exp}, Params: map[string]string{"lr": "0.01"},
				Tags: map[string]string{"team": "go"}, Metrics: map[string]float64{"m": 6},
				History:     [][]float64{{0, 0, 2000}, {1, 1.5, 2001}, {2, 3, 2002}, {3, 4.5, 2003}, {4, 6, 2004}},
				Model:       []string{"go-model", "from go"},
				Versions:    [][]any{{float64(1), "runs:/" + id + "/model", id, "None"}},
				Experiments: []string{"Default", "go-exp"},
			}
			got.Warnings = nil
			if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
				t.Errorf("MLflow %s read\n  %s\nwant\n  %s", v, g, w)
			}
		})
	}
}

// TestGoReadsWritesMLflowVersionsDB lets each MLflow release of
// schemaVersions create and write a database; mlrun (opening it with no
// version) reads what it wrote and writes to it, and MLflow reads mlrun's
// writes back with no warning.
func TestGoReadsWritesMLflowVersionsDB(t *testing.T) {
	for _, v := range schemaVersions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			mlflowtest.Python(t, v)
			dir := t.TempDir()
			path := filepath.Join(dir, "mlflow.db")
			var ids struct {
				ExperimentID string `json:"experiment_id"`
				RunID        string `json:"run_id"`
			}
			runPy(t, v, dir, writeScript, &ids, "sqlite:///"+path)

			before := schemaObjects(t, path)
			s, err := sqlstore.Open(ctx, path, nil)
			must(t, err)
			if !slices.Contains(s.Schema().Releases, v) {
				t.Errorf("MLflow %s database detected as %s (%v)", v, s.MLflowVersion(), s.Schema().Releases)
			}
			r, err := s.GetRun(ctx, ids.RunID)
			must(t, err)
			if lr, _ := r.Param("lr"); r.Info.RunName != "py-run" || lr != "0.1" || r.Info.Status != store.StatusFinished {
				t.Errorf("mlrun read run %+v", r.Info)
			}
			h, err := s.GetMetricHistory(ctx, ids.RunID, "m")
			must(t, err)
			if len(h) != 3 || h[2].Value != 1 || h[2].Step != 2 {
				t.Errorf("mlrun read history %v", h)
			}
			mv, err := s.GetModelVersion(ctx, "py-model", 1)
			must(t, err)
			if mv.RunID != ids.RunID {
				t.Errorf("mlrun read model version %+v", mv)
			}

			// mlrun writes: more points and a tag on MLflow's run, a
			// second version.
			must(t, s.LogBatch(ctx, ids.RunID, []store.Metric{{Key: "m", Value: 7, Timestamp: 1010, Step: 3}}, nil,
				[]store.Tag{{Key: "from", Value: "go"}}))
			_, err = s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "py-model", Source: "s3://b/m2", RunID: ids.RunID})
			must(t, err)
			must(t, s.Close())
			if after := schemaObjects(t, path); after != before {
				t.Errorf("mlrun changed MLflow %s's schema", v)
			}

			var got pyRead
			runPy(t, v, dir, readScript, &got, "sqlite:///"+path, ids.RunID, "py-model")
			want := pyRead{
				Run: []string{"py-run", "FINISHED", ids.ExperimentID}, Params: map[string]string{"lr": "0.1"},
				Tags: map[string]string{"team": "py", "from": "go"}, Metrics: map[string]float64{"m": 7},
				History: [][]float64{{0, 0, 1000}, {1, 0.5, 1001}, {2, 1, 1002}, {3, 7, 1010}},
				Model:   []string{"py-model", "from python"},
				Versions: [][]any{{float64(1), "runs:/" + ids.RunID + "/model", ids.RunID, "None"},
					{float64(2), "s3://b/m2", ids.RunID, "None"}},
				Experiments: []string{"Default", "py-exp"},
			}
			got.Warnings = nil
			if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
				t.Errorf("MLflow %s read back\n  %s\nwant\n  %s", v, g, w)
			}
		})
	}
}
