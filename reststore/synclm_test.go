package reststore_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/archive"
	"github.com/mlrun-go/mlrun/artifactrepo"
	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// offlineLM is a store logged offline in mlrun's default (MLflow 3) model
// layout.
type offlineLM struct {
	s       store.Store
	expName string
	run     string            // the source run
	models  []string          // source logged model ids: best, second, runless
	files   map[string][]byte // best's files, by path
	reg     string            // registered model of best
}

// logOfflineLM logs a run with two models (Run.LogModel, default layout:
// logged models with run outputs), a logged model without a source run,
// and registers the first by its models:/ URI, with an alias.
func logOfflineLM(t *testing.T, s store.Store, prefix string) *offlineLM {
	o := &offlineLM{s: s, expName: prefix + " lm sync ✓", reg: prefix + "-reg"}
	c, err := mlrun.Open(ctx, mlrun.WithStore(s), mlrun.WithUser("alice"))
	mustT(t, err)
	defer c.Close()
	run, err := c.StartRun(ctx, mlrun.WithExperimentName(o.expName), mlrun.WithRunName("train"))
	mustT(t, err)
	o.run = run.ID()
	mustT(t, run.LogParam(ctx, "alpha", "0.5"))
	mustT(t, run.LogMetric(ctx, "rmse", 0.25, mlrun.WithStep(2)))
	bin := make([]byte, 30_000)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	best, err := run.LogModel(ctx, "ridge", mlrun.Model{
		Flavors: map[string]map[string]any{"go_ridge": {"data": "w.json"}},
		Files:   map[string][]byte{"w.json": []byte("[1, 2]"), "data/weights.bin": bin},
		Params:  map[string]string{"p": "1 ✓"}, Tags: map[string]string{"t": "v ✓"}, ModelType: "regressor", Step: 2,
	})
	mustT(t, err)
	if best.ModelID == "" {
		t.Fatalf("LogModel did not log an MLflow 3 logged model: %+v", best)
	}
	mustT(t, run.LogModelMetric(ctx, best.ModelID, "acc", 0.9, mlrun.WithStep(3)))
	second, err := run.LogModel(ctx, "second", mlrun.Model{Flavors: map[string]map[string]any{"f": {}}, Files: map[string][]byte{"w.json": []byte("[2]")}})
	mustT(t, err)
	mustT(t, run.End(ctx))
	lms, ok := store.AsLoggedModels(s)
	if !ok {
		t.Fatalf("%T has no logged models", s)
	}
	exp, err := s.GetExperimentByName(ctx, o.expName)
	mustT(t, err)
	runless, err := lms.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{ExperimentID: exp.ID, Name: "runless",
		Tags: []store.Tag{{Key: "k", Value: "v"}}, Params: []store.Param{{Key: "q", Value: "2"}}})
	mustT(t, err)
	_, err = lms.FinalizeLoggedModel(ctx, runless.ModelID, store.LoggedModelReady)
	mustT(t, err)
	o.models = []string{best.ModelID, second.ModelID, runless.ModelID}

	o.files = map[string][]byte{}
	mustT(t, filepath.WalkDir(best.LocalPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(best.LocalPath, p)
		o.files[filepath.ToSlash(rel)] = b
		return err
	}))
	if len(o.files) < 3 {
		t.Fatalf("best model's files: %v", slices.Sorted(mapsKeysB(o.files)))
	}
	mv, err := c.RegisterModel(ctx, best.URI, o.reg)
	mustT(t, err)
	mustT(t, c.SetRegisteredModelAlias(ctx, o.reg, "champion", mv.Version))
	return o
}

func mapsKeysB(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

const readLMServerPy = `
import json, os, sys, tempfile, mlflow
from mlflow import MlflowClient
uri, name, reg = sys.argv[1], sys.argv[2], sys.argv[3]
mlflow.set_tracking_uri(uri)
c = MlflowClient(uri)
exp = c.get_experiment_by_name(name)
def files(artifact_uri):
    try:
        d = mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri, dst_path=tempfile.mkdtemp())
    except mlflow.exceptions.MlflowException as e:
        if "RESOURCE_DOES_NOT_EXIST" in str(e):
            return {}  # a model without files
        raise
    out = {}
    for root, _, fs in os.walk(d):
        for f in fs:
            p = os.path.join(root, f)
            out[os.path.relpath(p, d).replace(os.sep, "/")] = open(p, "rb").read().hex()
    return out
out = {"models": [], "runs": [], "versions": []}
for m in c.search_logged_models([exp.experiment_id]):
    out["models"].append({"id": m.model_id, "name": m.name, "type": m.model_type, "run": m.source_run_id,
        "status": str(m.status), "tags": m.tags, "params": m.params,
        "metrics": [[x.key, float.hex(x.value), x.timestamp, x.step, x.run_id] for x in (m.metrics or [])],
        "location": m.artifact_location, "files": files(m.artifact_location)})
for r in c.search_runs([exp.experiment_id]):
    outs = r.outputs.model_outputs if r.outputs else []
    out["runs"].append({"id": r.info.run_id, "source": r.data.tags.get("mlrun.sourceRunId", ""),
        "outputs": [[o.model_id, o.step] for o in outs]})
for v in c.search_model_versions(f"name='{reg}'"):
    out["versions"].append({"version": v.version, "source": v.source, "run": v.run_id, "model_id": v.model_id,
        "tags": v.tags, "aliases": list(c.get_model_version(reg, v.version).aliases),
        "files": files(f"models:/{reg}/{v.version}"), "alias_files": files(f"models:/{reg}@champion")})
print(json.dumps(out))
`

type pyLM struct {
	ID, Name, Type, Run, Status, Location string
	Tags, Params                          map[string]string
	Metrics                               [][5]any
	Files                                 map[string]string
}

func (m pyLM) String() string {
	return fmt.Sprintf("{%s %s run %s tags %v files %v}", m.ID, m.Name, m.Run, m.Tags, slices.Sorted(mapsKeys(m.Files)))
}

// checkServerLM compares what MLflow's client reads from the server with
// the source's logged models, run outputs and registry version.
func checkServerLM(t *testing.T, version, uri string, o *offlineLM) {
	t.Helper()
	out := mlflowtest.Run(t, version, t.TempDir(), readLMServerPy, uri, o.expName, o.reg)
	var got struct {
		Models []pyLM
		Runs   []struct {
			ID, Source string
			Outputs    [][2]any
		}
		Versions []struct {
			Version, Source, Run string
			ModelID              string `json:"model_id"`
			Tags                 map[string]string
			Aliases              []string
			Files                map[string]string
			AliasFiles           map[string]string `json:"alias_files"`
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output %s: %v", out, err)
	}
	if len(got.Runs) != 1 || got.Runs[0].Source != o.run {
		t.Fatalf("server runs %+v, want the one synced from %s", got.Runs, o.run)
	}
	serverRun := got.Runs[0].ID
	lms, _ := store.AsLoggedModels(o.s)
	bySource := map[string]pyLM{}
	for _, m := range got.Models {
		src := m.Tags[archive.SourceModelIDTag]
		if _, dup := bySource[src]; dup || src == "" {
			t.Errorf("server model %s has source tag %q (twice, or none)", m.ID, src)
		}
		bySource[src] = m
	}
	if len(got.Models) != len(o.models) {
		t.Errorf("the server holds %d logged models, want %d", len(got.Models), len(o.models))
	}
	for i, id := range o.models {
		m, ok := bySource[id]
		if !ok {
			t.Errorf("source model %s is not on the server", id)
			continue
		}
		src, err := lms.GetLoggedModel(ctx, id)
		mustT(t, err)
		wantRun := ""
		if src.SourceRunID != "" {
			wantRun = serverRun
		}
		if m.Name != src.Name || m.Type != src.ModelType || m.Run != wantRun || !strings.Contains(m.Status, "READY") {
			t.Errorf("model %s on the server: %+v; source %+v", id, m, src)
		}
		wantTags := map[string]string{archive.SourceModelIDTag: id}
		for k, v := range src.Tags {
			wantTags[k] = v
		}
		if i == 0 {
			// The server's version numbers.
			wantTags["mlflow.modelVersions"] = `[{"name": "` + o.reg + `", "version": 1}]`
		}
		if !mapsEqual(m.Tags, wantTags) {
			t.Errorf("model %s: tags %v on the server, want %v", id, m.Tags, wantTags)
		}
		if !mapsEqual(m.Params, src.Params) {
			t.Errorf("model %s: params %v on the server, want %v", id, m.Params, src.Params)
		}
		var want []string
		for _, x := range src.Metrics {
			want = append(want, x.Key+" "+pointString(x.Timestamp, x.Step, x.Value)+" "+serverRun)
		}
		var gotM []string
		for _, x := range m.Metrics {
			gotM = append(gotM, pyMetric(t, x))
		}
		slices.Sort(want)
		slices.Sort(gotM)
		if !slices.Equal(want, gotM) {
			t.Errorf("model %s: metrics %v on the server, want %v", id, gotM, want)
		}
		if i == 0 {
			if len(m.Files) != len(o.files) {
				t.Errorf("model %s: files %v on the server, want %v", id, slices.Sorted(mapsKeys(m.Files)), slices.Sorted(mapsKeysB(o.files)))
			}
			for p, b := range o.files {
				if m.Files[p] != hexOf(b) {
					t.Errorf("model %s: file %s on the server = %q, want %q", id, p, trunc([]byte(m.Files[p])), trunc([]byte(hexOf(b))))
				}
			}
		}
	}
	var outs []string
	for _, x := range got.Runs[0].Outputs {
		outs = append(outs, x[0].(string)+" "+jsonNum(x[1]))
	}
	slices.Sort(outs)
	wantOuts := []string{bySource[o.models[0]].ID + " 2", bySource[o.models[1]].ID + " 0"}
	slices.Sort(wantOuts)
	if !slices.Equal(outs, wantOuts) {
		t.Errorf("server run outputs %v, want %v", outs, wantOuts)
	}
	best := bySource[o.models[0]]
	if len(got.Versions) != 1 {
		t.Fatalf("server versions of %s: %+v", o.reg, got.Versions)
	}
	v := got.Versions[0]
	if v.Source != "models:/"+best.ID || v.Run != serverRun || v.ModelID != best.ID && v.ModelID != "" || v.Tags[archive.SourceVersionTag] != "1" ||
		!slices.Equal(v.Aliases, []string{"champion"}) {
		t.Errorf("server version %s: source %s, run %s, model_id %q, tags %v, aliases %v; best model on the server %s (server models %v)",
			v.Version, v.Source, v.Run, v.ModelID, v.Tags, v.Aliases, best.ID, got.Models)
	}
	delete(v.Files, "registered_model_meta") // written by the download
	delete(v.AliasFiles, "registered_model_meta")
	if !mapsEqual(v.Files, best.Files) || !mapsEqual(v.AliasFiles, best.Files) {
		t.Errorf("models:/%s/1 loads %v (alias %v), want the model's files %v", o.reg, slices.Sorted(mapsKeys(v.Files)),
			slices.Sorted(mapsKeys(v.AliasFiles)), slices.Sorted(mapsKeys(best.Files)))
	}
}

func jsonNum(x any) string {
	b, _ := json.Marshal(x)
	return string(b)
}

// pyMetric renders a [key, float.hex, ts, step, run] point as checkServerLM
// renders the source's.
func pyMetric(t *testing.T, x [5]any) string {
	t.Helper()
	ts, step := jsonNum(x[2]), jsonNum(x[3])
	pts := pyPoints(t, [][3]string{{ts, step, x[1].(string)}})
	return x[0].(string) + " " + pts[0] + " " + x[4].(string)
}

// TestSyncLoggedModels syncs stores logged offline in the MLflow 3 model
// layout (a file store and an SQLite store) twice to a real server: on
// MLflow 3 each logged model is there once with its files, params, tags
// and metrics, the run lists its outputs, the registered version's source
// is the server's models:/ URI and loads, and the second sync changes
// nothing; on MLflow 2 the models are skipped with a note.
func TestSyncLoggedModels(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			dst := openFresh(t, v)
			defer dst.Close()
			srv := sharedServer(t, v)
			mlflow3 := dst.HasLoggedModels()
			fs, sq := offlineStores(t)
			for _, o := range []*offlineLM{logOfflineLM(t, fs, "file"), logOfflineLM(t, sq, "sqlite")} {
				st, err := archive.Sync(ctx, o.s, dst, archive.SyncOptions{})
				mustT(t, err)
				if mlflow3 {
					if st.Runs.Created != 1 || st.LoggedModels != (archive.SyncTally{Created: 3}) || st.Outputs != 2 ||
						st.ModelVersions.Created != 1 || st.RegisteredModels.Created != 1 || st.ModelMetricPoints == 0 || len(st.Notes) != 0 {
						t.Errorf("%s: first sync: %+v", o.expName, st)
					}
				} else {
					notes := strings.Join(st.Notes, "\n")
					if st.Runs.Created != 1 || st.LoggedModels != (archive.SyncTally{}) || st.Outputs != 0 ||
						!strings.Contains(notes, "3 logged models were not synced: the destination has no MLflow 3 logged models") ||
						!strings.Contains(notes, "2 run outputs") || !strings.Contains(notes, "1 model versions were not synced") {
						t.Errorf("%s: first sync to MLflow 2: %+v", o.expName, st)
					}
				}
				first := st
				st, err = archive.Sync(ctx, o.s, dst, archive.SyncOptions{})
				mustT(t, err)
				if st.Changed() || st.Runs.Unchanged != 1 || st.ModelMetricPoints != 0 || st.Tags != 0 || st.Params != 0 ||
					st.Artifacts.Created != 0 || st.Outputs != 0 || (mlflow3 && (st.LoggedModels != archive.SyncTally{Unchanged: 3} ||
					st.ModelVersions.Unchanged != 1 || st.Artifacts.Unchanged != first.Artifacts.Created)) {
					t.Errorf("%s: second sync changed something: %+v", o.expName, st)
				}
				if !mlflow3 {
					continue
				}
				checkServerLM(t, v, srv.URL, o)

				// Offline again: a tag changed, one added, a new metric
				// point and a changed file of the best model; only
				// those are sent.
				lms, _ := store.AsLoggedModels(o.s)
				best := o.models[0]
				mustT(t, lms.SetLoggedModelTags(ctx, best, []store.Tag{{Key: "t", Value: "v2"}, {Key: "late", Value: "yes"}}))
				mustT(t, lms.LogLoggedModelMetrics(ctx, best, []store.LoggedModelMetric{{Key: "late", Value: 0.5, Timestamp: syncT0, Step: 9, RunID: o.run}}))
				o.files["w.json"] = []byte("[3, 4]")
				m, err := lms.GetLoggedModel(ctx, best)
				mustT(t, err)
				repo, err := artifactrepo.Open(m.ArtifactLocation, nil)
				mustT(t, err)
				mustT(t, repo.Put(ctx, "w.json", artifactrepo.Bytes(o.files["w.json"])))
				st, err = archive.Sync(ctx, o.s, dst, archive.SyncOptions{})
				mustT(t, err)
				if st.LoggedModels != (archive.SyncTally{Updated: 1, Unchanged: 2}) || st.Tags != 2 || st.ModelMetricPoints != 1 ||
					st.Artifacts.Created != 1 || st.Runs.Unchanged != 1 || st.ModelVersions.Unchanged != 1 {
					t.Errorf("%s: sync after changing a model: %+v", o.expName, st)
				}
				st, err = archive.Sync(ctx, o.s, dst, archive.SyncOptions{})
				mustT(t, err)
				if st.Changed() || st.LoggedModels != (archive.SyncTally{Unchanged: 3}) {
					t.Errorf("%s: last sync changed something: %+v", o.expName, st)
				}
				checkServerLM(t, v, srv.URL, o)
			}
			// An archive of the file store, imported into the server,
			// finds everything synced already.
			path := filepath.Join(t.TempDir(), "a.tar.gz")
			f, err := os.Create(path)
			mustT(t, err)
			_, _, err = archive.Export(ctx, fs, f, archive.ExportOptions{})
			mustT(t, err)
			mustT(t, f.Close())
			st, err := archive.SyncArchive(ctx, path, dst, archive.SyncOptions{})
			mustT(t, err)
			if st.Changed() || mlflow3 && (st.LoggedModels != archive.SyncTally{Unchanged: 3} || st.ModelVersions.Unchanged != 1) {
				t.Errorf("import of the file store's archive into the server: %+v", st)
			}
		})
	}
}
