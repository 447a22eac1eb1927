package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// lmScript is run by MLflow's Python: "dump" reads a store through MLflow's
// public APIs and prints what it saw as JSON; "gen" logs a model with real
// MLflow 3 (pyfunc) and prints its ids.
const lmScript = `
import json, os, sys, warnings
warnings.simplefilter("ignore")
import mlflow
from mlflow import MlflowClient
mode, uri = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(uri)
c = MlflowClient(uri)
out = {}

def lm_dict(m):
    return {
        "model_id": m.model_id, "experiment_id": m.experiment_id, "name": m.name,
        "artifact_location": m.artifact_location, "model_type": m.model_type,
        "source_run_id": m.source_run_id, "status": str(m.status),
        "status_message": m.status_message,
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "tags": m.tags, "params": m.params,
        "metrics": sorted([[x.key, x.value, x.step, x.timestamp, x.run_id] for x in (m.metrics or [])]),
    }

def attempt(key, fn):
    try:
        out[key] = fn()
    except Exception as e:
        out[key] = {"error": type(e).__name__ + ": " + str(e)[:300]}

if mode == "gen":
    class M(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input):
            return model_input
    mlflow.set_experiment("py-exp")
    with mlflow.start_run(run_name="py-run") as run:
        mlflow.log_param("alpha", "0.5")
        mlflow.log_metric("rmse", 0.25, step=3)
        info = mlflow.pyfunc.log_model(name="pymodel", python_model=M(), params={"p": "1"},
            tags={"t": "v"}, model_type="regressor", step=3, registered_model_name="pyreg")
        mlflow.log_metric("acc", 0.9, step=3, model_id=info.model_id)
    print(json.dumps({"model_id": info.model_id, "run_id": run.info.run_id,
                      "experiment_id": run.info.experiment_id}))
    sys.exit(0)

args = json.loads(sys.argv[3])
exp, rid = args["experiment_id"], args["run_id"]
for mid in args.get("model_ids", []):
    attempt("get/" + mid, lambda: lm_dict(c.get_logged_model(mid)))
    attempt("load/" + mid, lambda: (lambda m: {"model_id": m.model_id, "run_id": m.run_id,
        "artifact_path": m.artifact_path, "model_uuid": m.model_uuid,
        "flavors": sorted(m.flavors), "mlflow_version": m.mlflow_version,
        "utc_time_created": m.utc_time_created})(mlflow.models.Model.load("models:/" + mid)))
    attempt("download/" + mid, lambda: sorted(os.listdir(mlflow.artifacts.download_artifacts("models:/" + mid))))
for f in args.get("filters", []):
    attempt("search/" + f, lambda: [m.model_id for m in c.search_logged_models(experiment_ids=[exp], filter_string=f or None)])
for ob in args.get("orders", []):
    attempt("order/" + json.dumps(ob), lambda: [m.model_id for m in c.search_logged_models(experiment_ids=[exp], order_by=ob)])

def pages(n, ob):
    ids, tok = [], None
    while True:
        p = c.search_logged_models(experiment_ids=[exp], max_results=n, order_by=ob, page_token=tok)
        ids.append([m.model_id for m in p])
        tok = p.token
        if not tok:
            return ids

attempt("paged", lambda: pages(2, [{"field_name": "name", "ascending": False}]))
attempt("search_order_name", lambda: [m.model_id for m in c.search_logged_models(
    experiment_ids=[exp], order_by=[{"field_name": "name", "ascending": True}])])
attempt("outputs", lambda: sorted([[o.model_id, o.step] for o in c.get_run(rid).outputs.model_outputs]))
attempt("run_params", lambda: c.get_run(rid).data.params)
attempt("run_metrics", lambda: c.get_run(rid).data.metrics)
attempt("search_runs", lambda: sorted(mlflow.search_runs(experiment_ids=[exp])["run_id"].tolist()))
attempt("datasets", lambda: len(c._tracking_client.store._search_datasets([exp])))
for u in args.get("downloads", []):
    attempt("download/" + u, lambda: sorted(os.listdir(mlflow.artifacts.download_artifacts(u))))
for name, v in args.get("versions", []):
    attempt("mv/%s/%s" % (name, v), lambda: (lambda mv: {"model_id": mv.model_id, "source": mv.source,
        "run_id": mv.run_id, "status": mv.status})(c.get_model_version(name, v)))
print(json.dumps(out))
`

// runLMScript runs lmScript with MLflow m and decodes its JSON output.
func runLMScript(t *testing.T, m *compat.MLflow, mode, uri string, args any) map[string]any {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := m.Command(context.Background(), "python", "-c", lmScript, mode, uri, string(a))
	cmd.Dir = t.TempDir() // MLflow's default artifact root is ./mlruns (sqlite:// stores)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("MLflow %s %s: %v\n%s\n%s", m.Version, mode, err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var out map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		t.Fatalf("MLflow %s %s: %v\n%s\n%s", m.Version, mode, err, stdout.String(), stderr.String())
	}
	return out
}

// goLMDict is lm_dict of lmScript, from mlrun's view of a logged model.
func goLMDict(lm *store.LoggedModel) map[string]any {
	metrics := [][]any{}
	for _, x := range lm.Metrics {
		metrics = append(metrics, []any{x.Key, x.Value, x.Step, x.Timestamp, x.RunID})
	}
	slices.SortFunc(metrics, func(a, b []any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	opt := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	d := map[string]any{
		"model_id": lm.ModelID, "experiment_id": lm.ExperimentID, "name": lm.Name,
		"artifact_location": lm.ArtifactLocation, "model_type": opt(lm.ModelType),
		"source_run_id": opt(lm.SourceRunID), "status": lm.Status.String(), "status_message": opt(lm.StatusMessage),
		"creation_timestamp": lm.CreationTimestamp, "last_updated_timestamp": lm.LastUpdatedTimestamp,
		"tags": lm.Tags, "params": lm.Params, "metrics": metrics,
	}
	// Round-trip through JSON so numbers and empty maps compare as Python's.
	b, _ := json.Marshal(d)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func jsonEq(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestMLflowReadsGoLoggedModels proves that MLflow 3 reads the MLflow 3
// logged models mlrun writes (default layout) as mlrun does: get_logged_model
// (name, status, type, source run, tags, params, metrics with their run id,
// timestamps), search_logged_models with filters and order, Model.load and
// download_artifacts of models:/<id> (MLmodel with model_id, artifact_path =
// the artifact location, model_uuid, run_id, mlflow_version), the run's
// outputs.model_outputs, a registered version pointing at models:/<id> with
// its model_id, MLflow 3's runs:/<run>/<name> resolution, search_runs and the
// dataset summary; a deleted model is gone and a FAILED one is listed as such.
//
// It runs on a file store and on an MLflow 3.17.2 SQLite database (which
// MLflow also reads through `mlflow server`'s REST API). MLflow's SQL
// registry has no model_id column, so there versions read without one.
func TestMLflowReadsGoLoggedModels(t *testing.T) {
	m := compat.Require(t, compat.NewestVersion())
	t.Run("file", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "lm root ✓", "mlruns")
		c, err := mlrun.Open(context.Background(), mlrun.WithTrackingURI(fileURI(root)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		testMLflowReadsGoLoggedModels(t, m, c, []string{fileURI(root)}, true)
	})
	t.Run("sqlite", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "lm dir ✓")
		db := filepath.Join(dir, "mlflow.db")
		s, err := sqlstore.Open(context.Background(), db, &sqlstore.Options{MLflowVersion: compat.NewestVersion(), ArtifactRoot: filepath.Join(dir, "artifacts")})
		if err != nil {
			t.Fatal(err)
		}
		c, err := mlrun.Open(context.Background(), mlrun.WithStore(s))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		uris := []string{"sqlite:///" + db}
		testMLflowReadsGoLoggedModels(t, m, c, uris, false, func() string {
			srv, err := m.StartServer(context.Background(), uris[0])
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Stop)
			return srv.URL
		})
	})
}

// testMLflowReadsGoLoggedModels logs models through c, then has MLflow
// read them through each of uris (and the URI each of more returns, called
// once the store is written).
func testMLflowReadsGoLoggedModels(t *testing.T, m *compat.MLflow, c *mlrun.Client, uris []string, versionModelID bool, more ...func() string) {
	ctx := context.Background()
	var err error
	if c.ModelLayout() != mlrun.LayoutMLflow3 {
		t.Fatalf("default layout %v, want mlflow3", c.ModelLayout())
	}
	exp, err := c.SetExperiment(ctx, "lm-exp")
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.StartRun(ctx, mlrun.WithRunName("trainer"))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(run.LogParam(ctx, "alpha", "0.5"))
	must(run.LogMetric(ctx, "rmse", 0.25, mlrun.WithStep(3)))
	model := mlrun.Model{
		Flavors:   map[string]map[string]any{"go_ridge": {"data": "weights.json", "format": "json ✓"}},
		Files:     map[string][]byte{"weights.json": []byte("[0.5, 1.5]")},
		Params:    map[string]string{"p": "1", "alpha": "overridden by the run"},
		Tags:      map[string]string{"t": "v ✓"},
		ModelType: "regressor",
		Step:      3,
	}
	lm, err := run.LogModel(ctx, "ridge", model)
	must(err)
	if !strings.HasPrefix(lm.URI, "models:/m-") || lm.ModelID == "" || lm.ModelUUID != lm.ModelID {
		t.Fatalf("logged %+v", lm)
	}
	must(run.LogModelMetric(ctx, lm.ModelID, "acc", 0.9, mlrun.WithStep(3)))
	must(run.LogModelMetric(ctx, lm.ModelID, "acc", 0.95, mlrun.WithStep(4)))
	must(c.SetLoggedModelTags(ctx, lm.ModelID, map[string]string{"stage": "candidate"}))
	model.Step, model.ModelType, model.Params, model.Tags = 5, "", nil, nil
	other, err := run.LogModel(ctx, "other", model)
	must(err)
	doomed, err := run.LogModel(ctx, "doomed", model)
	must(err)
	must(c.DeleteLoggedModel(ctx, doomed.ModelID))
	failed, err := c.LoggedModels()
	must(err)
	fm, err := failed.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{ExperimentID: exp.ID, Name: "broken", SourceRunID: run.ID()})
	must(err)
	_, err = failed.FinalizeLoggedModel(ctx, fm.ModelID, store.LoggedModelFailed)
	must(err)
	mv, err := c.RegisterModel(ctx, lm.URI, "reg")
	must(err)
	mv2, err := c.RegisterModel(ctx, "runs:/"+run.ID()+"/other", "reg")
	must(err)
	must(run.End(ctx))

	// What mlrun itself reads.
	var mvID, mv2ID any = lm.ModelID, other.ModelID
	if !versionModelID {
		mvID, mv2ID = nil, nil
	}
	if fmt.Sprint(mv.ModelID) != fmt.Sprint(idOrEmpty(mvID)) || mv.Source != lm.URI || mv.RunID != run.ID() ||
		fmt.Sprint(mv2.ModelID) != fmt.Sprint(idOrEmpty(mv2ID)) || mv2.Source != other.URI {
		t.Errorf("versions %+v %+v", mv, mv2)
	}
	goLM, err := c.GetLoggedModel(ctx, lm.ModelID)
	must(err)
	if goLM.Status != store.LoggedModelReady || goLM.Params["alpha"] != "0.5" || goLM.Params["p"] != "1" ||
		goLM.Tags["mlflow.modelVersions"] != `[{"name": "reg", "version": 1}]` || goLM.Tags["t"] != "v ✓" {
		t.Errorf("mlrun reads %+v", goLM)
	}
	if x, ok := latestModelMetric(goLM, "acc"); !ok || x.Value != 0.95 || x.Step != 4 || x.RunID != run.ID() {
		t.Errorf("acc %+v", goLM.Metrics)
	}
	if _, err := c.GetLoggedModel(ctx, doomed.ModelID); !strings.Contains(fmt.Sprint(err), "not found") {
		t.Errorf("deleted model: %v", err)
	}
	outs, err := c.GetRunOutputs(ctx, run.ID())
	must(err)
	if len(outs) != 3 {
		t.Errorf("outputs %+v", outs)
	}

	filters := []string{"", "name = 'ridge'", "metrics.acc > 0.9", "params.p = '1'", "tags.stage LIKE 'cand%'",
		"status = 'FAILED'", "model_type = 'regressor'", "name ILIKE 'O%' AND status = 'READY'"}
	args := map[string]any{
		"experiment_id": exp.ID, "run_id": run.ID(),
		"model_ids": []string{lm.ModelID, other.ModelID, doomed.ModelID},
		"filters":   filters,
		"orders":    lmOrders,
		"downloads": []string{"models:/reg/1", "models:/reg/2", "runs:/" + run.ID() + "/ridge"},
		"versions":  [][]any{{"reg", 1}, {"reg", 2}},
	}
	for _, f := range more {
		uris = append(uris, f())
	}
	for _, uri := range uris {
		t.Run(strings.SplitN(uri, ":", 2)[0], func(t *testing.T) {
			checkMLflowReadsGoLoggedModels(t, runLMScript(t, m, "dump", uri, args), c, lmCase{
				exp: exp, run: run, lm: lm, other: other, doomed: doomed, goLM: goLM, filters: filters,
				downloads: args["downloads"].([]string), mvID: mvID, mv2ID: mv2ID, rest: strings.HasPrefix(uri, "http"),
			})
		})
	}
}

// lmOrders are the order_by lists the search tests compare.
var lmOrders = [][]map[string]any{
	{{"field_name": "metrics.acc", "ascending": false}},
	{{"field_name": "metrics.acc", "ascending": true}, {"field_name": "name", "ascending": true}},
	{{"field_name": "model_id", "ascending": false}},
	{{"field_name": "status", "ascending": false}, {"field_name": "creation_timestamp", "ascending": true}},
	{{"field_name": "last_updated_timestamp", "ascending": false}},
}

func searchIDs(t *testing.T, c *mlrun.Client, expID string, q store.LoggedModelQuery) []string {
	t.Helper()
	q.ExperimentIDs = []string{expID}
	page, err := c.SearchLoggedModels(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, x := range page.Models {
		ids = append(ids, x.ModelID)
	}
	return ids
}

// lmCase is what testMLflowReadsGoLoggedModels wrote.
type lmCase struct {
	exp                *store.Experiment
	run                *mlrun.Run
	lm, other, doomed  *mlrun.ModelInfo
	goLM               *store.LoggedModel
	filters, downloads []string
	mvID, mv2ID        any
	rest               bool // py was read through `mlflow server`
}

// latestModelMetric returns the point of key with the greatest (step,
// timestamp, value), whichever store rules filled Metrics.
func latestModelMetric(lm *store.LoggedModel, key string) (store.LoggedModelMetric, bool) {
	var best store.LoggedModelMetric
	found := false
	for _, x := range lm.Metrics {
		if x.Key == key && (!found || store.Supersedes(store.Metric{Value: x.Value, Timestamp: x.Timestamp, Step: x.Step},
			store.Metric{Value: best.Value, Timestamp: best.Timestamp, Step: best.Step})) {
			best, found = x, true
		}
	}
	return best, found
}

// idOrEmpty returns "" for a nil id.
func idOrEmpty(id any) string {
	if id == nil {
		return ""
	}
	return id.(string)
}

func checkMLflowReadsGoLoggedModels(t *testing.T, py map[string]any, c *mlrun.Client, k lmCase) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	exp, run, lm, other, doomed, goLM, filters := k.exp, k.run, k.lm, k.other, k.doomed, k.goLM, k.filters
	for _, id := range []string{lm.ModelID, other.ModelID} {
		want, err := c.GetLoggedModel(ctx, id)
		must(err)
		wantDict := goLMDict(want)
		if k.rest { // the REST API has no None for these
			for _, f := range []string{"model_type", "status_message"} {
				if wantDict[f] == nil {
					wantDict[f] = ""
				}
			}
		}
		if got := py["get/"+id]; !jsonEq(got, wantDict) {
			t.Errorf("get_logged_model(%s):\nMLflow %v\nmlrun  %v", id, got, wantDict)
		}
		// MLflow adds registered_model_meta when it downloads by models:/.
		if got := strings.Replace(fmt.Sprint(py["download/"+id]), " registered_model_meta", "", 1); got != "[MLmodel weights.json]" {
			t.Errorf("download models:/%s: %s", id, got)
		}
	}
	if got, _ := py["get/"+doomed.ModelID].(map[string]any); !strings.Contains(fmt.Sprint(got["error"]), "not found") {
		t.Errorf("deleted model: MLflow reads %v", got)
	}
	load, _ := py["load/"+lm.ModelID].(map[string]any)
	if load["model_id"] != lm.ModelID || load["model_uuid"] != lm.ModelID || load["run_id"] != run.ID() ||
		load["artifact_path"] != goLM.ArtifactLocation || fmt.Sprint(load["flavors"]) != "[go_ridge]" ||
		load["mlflow_version"] != mlrun.DefaultMLflowVersion || load["utc_time_created"] != lm.UTCTimeCreated {
		t.Errorf("Model.load(models:/%s): %v", lm.ModelID, load)
	}
	for _, f := range filters {
		page, err := c.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{exp.ID}, Filter: f})
		must(err)
		ids := []string{}
		for _, x := range page.Models {
			ids = append(ids, x.ModelID)
		}
		if got := py["search/"+f]; !jsonEq(got, ids) || (f == "" && len(ids) != 3) {
			t.Errorf("search_logged_models(%q): MLflow %v, mlrun %v", f, got, ids)
		}
	}
	page, err := c.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{exp.ID}, OrderBy: []store.LoggedModelOrderBy{{FieldName: "name", Ascending: true}}})
	must(err)
	var byName []string
	for _, x := range page.Models {
		byName = append(byName, x.ModelID)
	}
	if !jsonEq(py["search_order_name"], byName) {
		t.Errorf("order by name: MLflow %v, mlrun %v", py["search_order_name"], byName)
	}
	for _, ob := range lmOrders {
		var q store.LoggedModelQuery
		for _, o := range ob {
			q.OrderBy = append(q.OrderBy, store.LoggedModelOrderBy{FieldName: o["field_name"].(string), Ascending: o["ascending"].(bool)})
		}
		key, _ := json.Marshal(ob)
		pyKey := strings.NewReplacer(`":`, `": `, `,"`, `, "`, `},{`, `}, {`).Replace(string(key)) // json.dumps
		if got, want := py["order/"+pyKey], searchIDs(t, c, exp.ID, q); !jsonEq(got, want) {
			t.Errorf("order_by %s: MLflow %v, mlrun %v", key, got, want)
		}
	}
	var paged [][]string
	q := store.LoggedModelQuery{ExperimentIDs: []string{exp.ID}, MaxResults: 2, OrderBy: []store.LoggedModelOrderBy{{FieldName: "name"}}}
	for {
		page, err := c.SearchLoggedModels(ctx, q)
		must(err)
		ids := []string{}
		for _, x := range page.Models {
			ids = append(ids, x.ModelID)
		}
		paged = append(paged, ids)
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	if !jsonEq(py["paged"], paged) || len(paged) != 2 {
		t.Errorf("pages of 2 by name DESC: MLflow %v, mlrun %v", py["paged"], paged)
	}
	wantOuts := [][]any{{lm.ModelID, 3}, {other.ModelID, 5}, {doomed.ModelID, 5}}
	slices.SortFunc(wantOuts, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
	if !jsonEq(py["outputs"], wantOuts) {
		t.Errorf("outputs.model_outputs: %v, want %v", py["outputs"], wantOuts)
	}
	for k, want := range map[string]any{
		"mv/reg/1":    map[string]any{"model_id": k.mvID, "source": lm.URI, "run_id": run.ID(), "status": "READY"},
		"mv/reg/2":    map[string]any{"model_id": k.mv2ID, "source": other.URI, "run_id": run.ID(), "status": "READY"},
		"search_runs": []string{run.ID()},
		"run_params":  map[string]any{"alpha": "0.5"},
		"run_metrics": map[string]any{"rmse": 0.25, "acc": 0.95},
	} {
		if !jsonEq(py[k], want) {
			t.Errorf("%s: MLflow %v, want %v", k, py[k], want)
		}
	}
	if ds := py["datasets"]; !k.rest && !jsonEq(ds, 0) { // a client-side store method
		t.Errorf("_search_datasets: MLflow %v, want 0", ds)
	}
	for _, u := range k.downloads {
		if got := strings.Replace(fmt.Sprint(py["download/"+u]), " registered_model_meta", "", 1); got != "[MLmodel weights.json]" {
			t.Errorf("download %s: %s", u, got)
		}
	}
	for _, u := range []string{lm.URI, "models:/reg/1", "runs:/" + run.ID() + "/ridge"} {
		if u == "runs:/"+run.ID()+"/ridge" {
			continue // mlrun resolves runs:/ to run artifacts only
		}
		p, err := c.ResolveModelURI(ctx, u)
		if err != nil {
			t.Errorf("mlrun resolve %s: %v", u, err)
			continue
		}
		if b, err := os.ReadFile(filepath.Join(p, "weights.json")); err != nil || string(b) != "[0.5, 1.5]" {
			t.Errorf("mlrun resolve %s: %s %q %v", u, p, b, err)
		}
	}
}

// TestMLflow2ReadsGoModelLayout2 proves that choosing the 2.x layout (here
// through WithMLflowVersion) keeps the store readable by MLflow 2.22.5,
// dataset summary included, and documents why the 3.x layout is only for
// MLflow 3: 2.22.5's _search_datasets (the UI's dataset summary of an
// experiment) fails on an experiment holding logged models, while its
// search_runs still works.
func TestMLflow2ReadsGoModelLayout2(t *testing.T) {
	const v2 = "2.22.5"
	m := compat.Require(t, v2)
	ctx := context.Background()
	for _, layout := range []mlrun.ModelLayout{mlrun.LayoutMLflow2, mlrun.LayoutMLflow3} {
		t.Run(layout.String(), func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "mlruns")
			opt := mlrun.WithMLflowVersion(v2)
			if layout == mlrun.LayoutMLflow3 {
				opt = mlrun.WithModelLayout(mlrun.LayoutMLflow3)
			}
			c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(fileURI(root)), opt)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.ModelLayout() != layout {
				t.Fatalf("layout %v, want %v", c.ModelLayout(), layout)
			}
			exp, err := c.SetExperiment(ctx, "e")
			if err != nil {
				t.Fatal(err)
			}
			run, err := c.StartRun(ctx)
			if err != nil {
				t.Fatal(err)
			}
			lm, err := run.LogModel(ctx, "model", mlrun.Model{
				Flavors: map[string]map[string]any{"go_ridge": {"data": "w.json"}},
				Files:   map[string][]byte{"w.json": []byte("[1]")},
			})
			if err != nil {
				t.Fatal(err)
			}
			run.End(ctx)
			if _, err := c.RegisterModel(ctx, lm.URI, "reg"); err != nil {
				t.Fatal(err)
			}
			py := runLMScript(t, m, "dump", fileURI(root), map[string]any{
				"experiment_id": exp.ID, "run_id": run.ID(), "downloads": []string{lm.URI, "models:/reg/1"},
			})
			if !jsonEq(py["search_runs"], []string{run.ID()}) {
				t.Errorf("search_runs: %v", py["search_runs"])
			}
			ds := fmt.Sprint(py["datasets"])
			if layout == mlrun.LayoutMLflow2 {
				if ds != "0" {
					t.Errorf("_search_datasets: %s", ds)
				}
				for _, u := range []string{lm.URI, "models:/reg/1"} {
					if got := strings.Replace(fmt.Sprint(py["download/"+u]), " registered_model_meta", "", 1); got != "[MLmodel w.json]" {
						t.Errorf("download %s: %s", u, got)
					}
				}
				return
			}
			// The documented limitation: MLflow 2 cannot summarise datasets
			// (nor resolve models:/<model_id>) once the 3.x layout is used.
			if !strings.Contains(ds, "error") {
				t.Errorf("MLflow 2.22.5's _search_datasets unexpectedly works on the 3.x layout: %s (update the docs)", ds)
			}
		})
	}
}

// TestGoReadsMLflowLoggedModels proves that mlrun reads a logged model
// written by real MLflow 3 (pyfunc log_model with params, tags, model type,
// step, a model metric and registration) with the fields MLflow reads, and
// the run's outputs and the version's model_id.
//
// It runs on a file store and on an MLflow 3.17.2 SQLite database (whose
// registry has no model_id column: the version reads without one).
func TestGoReadsMLflowLoggedModels(t *testing.T) {
	m := compat.Require(t, compat.NewestVersion())
	t.Run("file", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "mlruns")
		testGoReadsMLflowLoggedModels(t, m, fileURI(root), true, func() lmRegistryStore {
			s, err := fsstore.Open(context.Background(), root, nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("sqlite", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "mlflow.db")
		testGoReadsMLflowLoggedModels(t, m, "sqlite:///"+db, false, func() lmRegistryStore {
			s, err := sqlstore.Open(context.Background(), db, nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

// lmRegistryStore is a backend with logged models and a registry.
type lmRegistryStore interface {
	store.Store
	store.LoggedModels
	store.Registry
}

func testGoReadsMLflowLoggedModels(t *testing.T, m *compat.MLflow, uri string, versionModelID bool, open func() lmRegistryStore) {
	ctx := context.Background()
	ids := runLMScript(t, m, "gen", uri, nil)
	mid, rid, exp := ids["model_id"].(string), ids["run_id"].(string), ids["experiment_id"].(string)
	py := runLMScript(t, m, "dump", uri, map[string]any{
		"experiment_id": exp, "run_id": rid, "model_ids": []string{mid}, "filters": []string{"", "metrics.acc >= 0.9"},
		"versions": [][]any{{"pyreg", 1}},
	})
	s := open()
	defer s.Close()
	got, err := s.GetLoggedModel(ctx, mid)
	if err != nil {
		t.Fatal(err)
	}
	if want := py["get/"+mid]; !jsonEq(goLMDict(got), want) {
		t.Errorf("GetLoggedModel:\nmlrun  %v\nMLflow %v", goLMDict(got), want)
	}
	for _, f := range []string{"", "metrics.acc >= 0.9"} {
		page, err := s.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{exp}, Filter: f})
		if err != nil || len(page.Models) != 1 || page.Models[0].ModelID != mid || !jsonEq(py["search/"+f], []string{mid}) {
			t.Errorf("search %q: %v %v (MLflow %v)", f, page, err, py["search/"+f])
		}
	}
	outs, err := s.GetRunOutputs(ctx, rid)
	if err != nil || !jsonEq([][]any{{outs[0].ModelID, outs[0].Step}}, py["outputs"]) {
		t.Errorf("outputs %v %v, MLflow %v", outs, err, py["outputs"])
	}
	mv, err := s.GetModelVersion(ctx, "pyreg", 1)
	wantMV := mid
	if !versionModelID {
		wantMV = ""
	}
	if err != nil || mv.ModelID != wantMV || mv.Source != "models:/"+mid || mv.RunID != rid {
		t.Errorf("version %+v %v", mv, err)
	}
	// mlrun then writes into MLflow's logged model, and MLflow reads it.
	if err := s.SetLoggedModelTags(ctx, mid, []store.Tag{{Key: "from", Value: "go"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.LogLoggedModelMetrics(ctx, mid, []store.LoggedModelMetric{{Key: "acc", Value: 0.99, Timestamp: 1, Step: 9, RunID: rid}}); err != nil {
		t.Fatal(err)
	}
	py = runLMScript(t, m, "dump", uri, map[string]any{"experiment_id": exp, "run_id": rid, "model_ids": []string{mid}})
	got, _ = s.GetLoggedModel(ctx, mid)
	if want := py["get/"+mid]; !jsonEq(goLMDict(got), want) || got.Tags["from"] != "go" {
		t.Errorf("after Go writes:\nmlrun  %v\nMLflow %v", goLMDict(got), want)
	}
}
