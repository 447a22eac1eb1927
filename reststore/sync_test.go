package reststore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/archive"
	"github.com/mlrun-go/mlrun/artifactrepo"
	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/reststore"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

// offline is a store logged offline, with what the test logged into it.
type offline struct {
	s         store.Store
	expName   string
	parent    string // run ids in the source
	child     string
	finished  string
	artifacts map[string]map[string][]byte // run id -> path -> bytes
	model     string                       // a registered model
}

const syncT0 = int64(1_750_000_000_000)

func mustT(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// putArtifact writes a source run's artifact file where the local store
// keeps it.
func (o *offline) putArtifact(t *testing.T, runID, path string, data []byte) {
	t.Helper()
	r, err := o.s.GetRun(ctx, runID)
	mustT(t, err)
	repo, err := artifactrepo.Open(r.Info.ArtifactURI, nil)
	mustT(t, err)
	mustT(t, repo.Put(ctx, path, artifactrepo.Bytes(data)))
	if o.artifacts[runID] == nil {
		o.artifacts[runID] = map[string][]byte{}
	}
	o.artifacts[runID][path] = data
}

// logOffline fills a local store: an experiment with a unicode name and
// tags, a parent run with NaN/±Inf/-0.0 points, a repeated point, a
// history longer than one log-batch, params, a dataset input and
// artifacts; a nested child still RUNNING (resumed later); a finished
// sibling; and a deleted run, which is not synced.
func logOffline(t *testing.T, s store.Store, prefix string) *offline {
	o := &offline{s: s, expName: prefix + " sync ünïcødé ✓", artifacts: map[string]map[string][]byte{}}
	expID, err := s.CreateExperiment(ctx, o.expName, "", []store.Tag{{Key: "team", Value: "ml ✓"}})
	mustT(t, err)
	newRun := func(name string, start int64, tags ...store.Tag) string {
		r, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: expID, UserID: "alice ✓", RunName: name, StartTime: start, Tags: tags})
		mustT(t, err)
		return r.Info.RunID
	}
	o.parent = newRun("parent ✓", syncT0, store.Tag{Key: "mlflow.source.name", Value: "train.go"})
	var ms []store.Metric
	for i := range 1200 {
		ms = append(ms, store.Metric{Key: "loss", Value: 1 / float64(i+1), Timestamp: syncT0 + int64(i), Step: int64(i - 5)})
	}
	for i, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.25, 0.25} {
		ms = append(ms, store.Metric{Key: "odd", Value: v, Timestamp: syncT0 + 7, Step: int64(i % 2 * (1 - i/4))})
	}
	for len(ms) > 0 {
		n := min(len(ms), 1000)
		mustT(t, s.LogBatch(ctx, o.parent, ms[:n], nil, nil))
		ms = ms[n:]
	}
	mustT(t, s.LogBatch(ctx, o.parent, nil, []store.Param{{Key: "alpha", Value: "0.5"}, {Key: "weird", Value: "tab\there ✓ 'q' \"dq\""}},
		[]store.Tag{{Key: "note", Value: "ünï ✓"}}))
	mustT(t, s.LogInputs(ctx, o.parent, []store.DatasetInput{{Dataset: store.Dataset{Name: "train", Digest: "d1", SourceType: "local",
		Source: `{"uri": "/data/train"}`}, Tags: []store.Tag{{Key: "mlflow.data.context", Value: "training"}}}}))
	o.putArtifact(t, o.parent, "notes/hello ✓.txt", []byte("hello ✓\n"))
	bin := make([]byte, 70_000)
	for i := range bin {
		bin[i] = byte(i * 31)
	}
	o.putArtifact(t, o.parent, "model/weights.bin", bin)
	o.putArtifact(t, o.parent, "empty.txt", []byte{})
	end := syncT0 + 5000
	_, err = s.UpdateRun(ctx, o.parent, store.RunUpdate{Status: store.StatusFinished, EndTime: &end})
	mustT(t, err)

	o.child = newRun("child", syncT0+10, store.Tag{Key: "mlflow.parentRunId", Value: o.parent})
	mustT(t, s.LogBatch(ctx, o.child, []store.Metric{{Key: "rmse", Value: 0.9, Timestamp: syncT0 + 11, Step: 0},
		{Key: "rmse", Value: 0.8, Timestamp: syncT0 + 12, Step: 1}}, []store.Param{{Key: "i", Value: "0"}}, nil))
	o.putArtifact(t, o.child, "log.txt", []byte("epoch 0\n"))

	o.finished = newRun("sibling", syncT0+20, store.Tag{Key: "mlflow.parentRunId", Value: o.parent})
	mustT(t, s.LogBatch(ctx, o.finished, []store.Metric{{Key: "rmse", Value: math.Inf(1), Timestamp: syncT0 + 21, Step: 0}}, nil, nil))
	end = syncT0 + 30
	_, err = s.UpdateRun(ctx, o.finished, store.RunUpdate{Status: store.StatusFailed, EndTime: &end})
	mustT(t, err)

	deleted := newRun("deleted", syncT0+40)
	mustT(t, s.DeleteRun(ctx, deleted))

	// The parent's model, registered with a stage and an alias.
	reg := s.(store.Registry)
	o.model = prefix + "-ridge ✓"
	_, err = reg.CreateRegisteredModel(ctx, o.model, []store.Tag{{Key: "owner", Value: "ml ✓"}}, "ridge models")
	mustT(t, err)
	pr, err := s.GetRun(ctx, o.parent)
	mustT(t, err)
	mv, err := reg.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: o.model, Source: strings.TrimRight(pr.Info.ArtifactURI, "/") + "/model",
		RunID: o.parent, Tags: []store.Tag{{Key: "v", Value: "1"}}, Description: "first"})
	mustT(t, err)
	_, err = reg.TransitionModelVersionStage(ctx, o.model, mv.Version, "Production", false)
	mustT(t, err)
	mustT(t, reg.SetRegisteredModelAlias(ctx, o.model, "champion", mv.Version))
	return o
}

// resume logs more into the child, as a training job resumed offline
// would: new points (one equal to a point synced before, at a new
// timestamp), a new param and tag, a changed tag, a new artifact and a
// changed one, and its end.
func (o *offline) resume(t *testing.T) {
	s := o.s
	mustT(t, s.LogBatch(ctx, o.child, []store.Metric{{Key: "rmse", Value: 0.8, Timestamp: syncT0 + 13, Step: 1},
		{Key: "rmse", Value: 0.7, Timestamp: syncT0 + 14, Step: 2}, {Key: "new key", Value: math.NaN(), Timestamp: syncT0 + 15, Step: 0}},
		[]store.Param{{Key: "resumed", Value: "yes"}}, []store.Tag{{Key: "phase", Value: "2"}}))
	o.putArtifact(t, o.child, "log.txt", []byte("epoch 0\nepoch 1\n"))
	o.putArtifact(t, o.child, "more/ckpt.txt", []byte("ckpt"))
	end := syncT0 + 100
	_, err := s.UpdateRun(ctx, o.child, store.RunUpdate{Status: store.StatusFinished, EndTime: &end})
	mustT(t, err)
}

// TestSync pushes stores logged offline (an mlruns directory and an
// SQLite database) to a real MLflow server, resumes a run offline, syncs
// twice more, and has MLflow's Python client read the server: each run
// once, every point once, artifacts byte-identical, nested runs under the

// offlineStores opens an empty file store and an empty SQLite store in a
// temporary directory, as a user logging offline has them; both close at
// the end of the test.
func offlineStores(t *testing.T) (*fsstore.Store, *sqlstore.Store) {
	t.Helper()
	dir := t.TempDir()
	fs, err := fsstore.Open(ctx, filepath.Join(dir, "mlruns"), nil)
	mustT(t, err)
	t.Cleanup(func() { fs.Close() })
	sq, err := sqlstore.Open(ctx, filepath.Join(dir, "mlflow.db"), &sqlstore.Options{ArtifactRoot: filepath.Join(dir, "artifacts")})
	mustT(t, err)
	t.Cleanup(func() { sq.Close() })
	return fs, sq
}

// server's parent.
func TestSync(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			dst := openFresh(t, v)
			defer dst.Close()
			srv := sharedServer(t, v)
			var opts archive.SyncOptions // artifacts through dst.ArtifactRepo
			fs, sq := offlineStores(t)
			for _, o := range []*offline{logOffline(t, fs, "file"), logOffline(t, sq, "sqlite")} {
				st, err := archive.Sync(ctx, o.s, dst, opts)
				mustT(t, err)
				if st.Runs.Created != 3 || st.Experiments.Created != 1 || st.Artifacts.Created != 4 || st.MetricPoints != 1200+5+2+1 ||
					st.RegisteredModels.Created != 1 || st.ModelVersions.Created != 1 {
					t.Errorf("%s: first sync: %+v", o.expName, st)
				}
				if o.s == fs { // the child is still running there
					checkServer(t, v, srv.URL, o)
				}

				o.resume(t)
				st, err = archive.Sync(ctx, o.s, dst, opts)
				mustT(t, err)
				if st.Runs != (archive.SyncTally{Updated: 1, Unchanged: 2}) || st.MetricPoints != 3 || st.Params != 1 ||
					st.Artifacts.Created != 2 || st.Artifacts.Unchanged != 3 {
					t.Errorf("%s: sync after resuming: %+v", o.expName, st)
				}
				st, err = archive.Sync(ctx, o.s, dst, opts)
				mustT(t, err)
				if st.Changed() || st.Runs.Unchanged != 3 || st.MetricPoints != 0 || st.Params != 0 || st.Tags != 0 || st.Artifacts.Unchanged != 5 ||
					st.ModelVersions.Unchanged != 1 {
					t.Errorf("%s: third sync changed something: %+v", o.expName, st)
				}
				checkServer(t, v, srv.URL, o)
			}
		})
	}
}

// pyRun is a run as MLflow's Python client reads it from the server.
type pyRun struct {
	ID, Name, Status, User string
	Start                  int64
	End                    *int64
	Stage                  string
	Tags, Params           map[string]string
	Inputs                 [][3]string // name, digest, context
	Metrics                map[string][][3]string
	Artifacts              map[string]string // path -> hex
}

const readServerPy = `
import json, sys, mlflow
from mlflow import MlflowClient
from mlflow.entities import ViewType
uri, name, model = sys.argv[1], sys.argv[2], sys.argv[3]
c = MlflowClient(uri)
exp = c.get_experiment_by_name(name)
out = {"experiment_tags": exp.tags, "runs": []}
def walk(run_id, p):
    res = []
    for f in c.list_artifacts(run_id, p):
        if f.is_dir:
            res += walk(run_id, f.path)
        else:
            res.append(f.path)
    return res
for r in c.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=1000):
    i = r.info
    d = {"ID": i.run_id, "Name": i.run_name, "Status": i.status, "User": i.user_id, "Start": i.start_time, "End": i.end_time,
         "Stage": i.lifecycle_stage, "Tags": r.data.tags, "Params": r.data.params, "Metrics": {}, "Artifacts": {},
         "Inputs": [[x.dataset.name, x.dataset.digest, {t.key: t.value for t in x.tags}.get("mlflow.data.context", "")] for x in r.inputs.dataset_inputs]}
    for k in r.data.metrics:
        d["Metrics"][k] = [[str(m.timestamp), str(m.step), float.hex(m.value)] for m in c.get_metric_history(i.run_id, k)]
    for p in walk(i.run_id, None):
        local = mlflow.artifacts.download_artifacts(run_id=i.run_id, artifact_path=p, tracking_uri=uri)
        d["Artifacts"][p] = open(local, "rb").read().hex()
    out["runs"].append(d)
m = c.get_registered_model(model)
out["model"] = {"tags": m.tags, "description": m.description, "aliases": m.aliases,
    "versions": [{"version": v.version, "run_id": v.run_id, "source": v.source, "stage": v.current_stage, "tags": v.tags,
                  "description": v.description, "aliases": list(c.get_model_version(model, v.version).aliases)} for v in c.search_model_versions(f"name='{model}'")]}
print(json.dumps(out))
`

// checkServer compares what MLflow's client reads from the server with
// the source store.
func checkServer(t *testing.T, version, uri string, o *offline) {
	t.Helper()
	out := mlflowtest.Run(t, version, t.TempDir(), readServerPy, uri, o.expName, o.model)
	var got struct {
		ExperimentTags map[string]string `json:"experiment_tags"`
		Runs           []pyRun           `json:"runs"`
		Model          struct {
			Tags        map[string]string `json:"tags"`
			Description string            `json:"description"`
			Aliases     map[string]string `json:"aliases"`
			Versions    []struct {
				Version     string            `json:"version"`
				RunID       string            `json:"run_id"`
				Source      string            `json:"source"`
				Stage       string            `json:"stage"`
				Tags        map[string]string `json:"tags"`
				Description string            `json:"description"`
				Aliases     []string          `json:"aliases"`
			} `json:"versions"`
		} `json:"model"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output %s: %v", out, err)
	}
	if got.ExperimentTags["team"] != "ml ✓" {
		t.Errorf("experiment tags %v", got.ExperimentTags)
	}
	bySource := map[string]pyRun{}
	for _, r := range got.Runs {
		src := r.Tags[archive.SourceRunIDTag]
		if _, dup := bySource[src]; dup || src == "" {
			t.Errorf("server run %s has source tag %q (twice, or none)", r.ID, src)
		}
		bySource[src] = r
	}
	if len(got.Runs) != 3 {
		t.Errorf("the server holds %d runs, want 3", len(got.Runs))
	}
	m := got.Model
	if m.Tags["owner"] != "ml ✓" || m.Description != "ridge models" || len(m.Versions) != 1 {
		t.Errorf("registered model %q on the server: %+v", o.model, m)
	} else {
		v := m.Versions[0]
		parent := bySource[o.parent]
		if v.RunID != parent.ID || !strings.HasSuffix(v.Source, "/model") || v.Stage != "Production" || v.Tags["v"] != "1" ||
			v.Tags[archive.SourceVersionTag] != "1" || v.Description != "first" || !slices.Equal(v.Aliases, []string{"champion"}) ||
			m.Aliases["champion"] != v.Version {
			t.Errorf("model version on the server: %+v (parent run %s)", v, parent.ID)
		}
		if _, ok := parent.Artifacts[strings.TrimPrefix(v.Source[strings.LastIndex(v.Source, "/model"):], "/")+"/weights.bin"]; !ok {
			t.Errorf("the version's source %s does not hold the model's files %v", v.Source, slices.Sorted(mapsKeys(parent.Artifacts)))
		}
	}
	for _, id := range []string{o.parent, o.child, o.finished} {
		r, ok := bySource[id]
		if !ok {
			t.Errorf("source run %s is not on the server", id)
			continue
		}
		src, err := o.s.GetRun(ctx, id)
		mustT(t, err)
		in := src.Info
		if r.Name != in.RunName || r.Status != in.Status.String() || r.User != in.UserID || r.Start != in.StartTime ||
			!equalEndTime(r.End, in.EndTime) || r.Stage != "active" {
			t.Errorf("run %s on the server: %+v; source %+v", id, r, in)
		}
		wantTags := map[string]string{archive.SourceRunIDTag: id}
		for _, tg := range src.Data.Tags {
			wantTags[tg.Key] = tg.Value
		}
		if p, ok := wantTags["mlflow.parentRunId"]; ok {
			wantTags["mlflow.parentRunId"] = bySource[p].ID
			if bySource[p].ID == "" {
				t.Errorf("parent %s of %s not on the server", p, id)
			}
		}
		for k, v := range wantTags {
			if r.Tags[k] != v {
				t.Errorf("run %s: tag %q = %q on the server, want %q", id, k, r.Tags[k], v)
			}
		}
		for k := range r.Tags {
			if _, ok := wantTags[k]; !ok {
				t.Errorf("run %s: extra tag %q = %q on the server", id, k, r.Tags[k])
			}
		}
		wantParams := map[string]string{}
		for _, p := range src.Data.Params {
			wantParams[p.Key] = p.Value
		}
		if fmt.Sprint(wantParams) != fmt.Sprint(r.Params) {
			t.Errorf("run %s: params %v on the server, want %v", id, r.Params, wantParams)
		}
		var wantInputs [][3]string
		for _, d := range src.Inputs {
			ctxTag := ""
			for _, tg := range d.Tags {
				if tg.Key == "mlflow.data.context" {
					ctxTag = tg.Value
				}
			}
			wantInputs = append(wantInputs, [3]string{d.Dataset.Name, d.Dataset.Digest, ctxTag})
		}
		if fmt.Sprint(wantInputs) != fmt.Sprint(r.Inputs) && !(len(wantInputs) == 0 && len(r.Inputs) == 0) {
			t.Errorf("run %s: inputs %v on the server, want %v", id, r.Inputs, wantInputs)
		}
		if len(r.Metrics) != len(src.Data.Metrics) {
			t.Errorf("run %s: %d metric keys on the server, want %d", id, len(r.Metrics), len(src.Data.Metrics))
		}
		for _, m := range src.Data.Metrics {
			h, err := o.s.GetMetricHistory(ctx, id, m.Key)
			mustT(t, err)
			want := pointSet(storetest.SQLMetrics.History(h))
			gotPts := pyPoints(t, r.Metrics[m.Key])
			if !slices.Equal(gotPts, want) {
				t.Errorf("run %s: history of %q on the server (%d points):\n%v\nwant (%d):\n%v", id, m.Key, len(gotPts), head(gotPts), len(want), head(want))
			}
		}
		wantFiles := o.artifacts[id]
		if len(r.Artifacts) != len(wantFiles) {
			t.Errorf("run %s: %d artifacts on the server, want %d: %v", id, len(r.Artifacts), len(wantFiles), slices.Sorted(mapsKeys(r.Artifacts)))
		}
		for p, data := range wantFiles {
			if r.Artifacts[p] != hexOf(data) {
				t.Errorf("run %s: artifact %s on the server = %q, want %q", id, p, trunc([]byte(r.Artifacts[p])), trunc([]byte(hexOf(data))))
			}
		}
	}
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func head(s []string) []string {
	if len(s) > 8 {
		return append(s[:8:8], "…")
	}
	return s
}

func equalEndTime(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// pointSet renders points as "ts step bits", sorted.
func pointSet(ms []store.Metric) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = pointString(m.Timestamp, m.Step, m.Value)
	}
	slices.Sort(out)
	return out
}

func pointString(ts, step int64, v float64) string {
	bits := math.Float64bits(v)
	if math.IsNaN(v) {
		bits = math.Float64bits(math.NaN())
	}
	return fmt.Sprintf("%d %d %016x", ts, step, bits)
}

func pyPoints(t *testing.T, pts [][3]string) []string {
	t.Helper()
	out := make([]string, len(pts))
	for i, p := range pts {
		ts, err1 := strconv.ParseInt(p[0], 10, 64)
		step, err2 := strconv.ParseInt(p[1], 10, 64)
		v, err3 := strconv.ParseFloat(p[2], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("python point %v", p)
		}
		out[i] = pointString(ts, step, v)
	}
	slices.Sort(out)
	return out
}

// TestSyncArchive is `mlrun import` into a server: an archive of a store
// logged offline is pushed as Sync pushes the store, and importing it
// again changes nothing.
func TestSyncArchive(t *testing.T) {
	v := versions()[len(versions())-1]
	dst := openFresh(t, v)
	defer dst.Close()
	srv := sharedServer(t, v)
	var opts archive.SyncOptions
	dir := t.TempDir()
	fs, err := fsstore.Open(ctx, filepath.Join(dir, "mlruns"), nil)
	mustT(t, err)
	defer fs.Close()
	o := logOffline(t, fs, "archive")
	path := filepath.Join(dir, "a.tar.gz")
	f, err := os.Create(path)
	mustT(t, err)
	_, _, err = archive.Export(ctx, fs, f, archive.ExportOptions{})
	mustT(t, err)
	mustT(t, f.Close())
	st, err := archive.SyncArchive(ctx, path, dst, opts)
	mustT(t, err)
	if st.Runs.Created != 3 || st.Artifacts.Created != 4 {
		t.Errorf("import into the server: %+v", st)
	}
	st, err = archive.SyncArchive(ctx, path, dst, opts)
	mustT(t, err)
	if st.Changed() || st.MetricPoints != 0 {
		t.Errorf("second import changed something: %+v", st)
	}
	checkServer(t, v, srv.URL, o)

	// A tampered archive is refused before anything is written.
	data, err := os.ReadFile(path)
	mustT(t, err)
	bad := filepath.Join(dir, "bad.tar.gz")
	mustT(t, os.WriteFile(bad, data[:len(data)/2], 0o644))
	if _, err := archive.SyncArchive(ctx, bad, dst, opts); err == nil {
		t.Error("a truncated archive was synced")
	}
}

// TestSyncConflict: a param whose value differs on the server is a
// conflict found before anything is written.
func TestSyncConflict(t *testing.T) {
	v := versions()[len(versions())-1]
	dst := openFresh(t, v)
	defer dst.Close()
	var opts archive.SyncOptions
	fs, err := fsstore.Open(ctx, filepath.Join(t.TempDir(), "mlruns"), nil)
	mustT(t, err)
	defer fs.Close()
	o := logOffline(t, fs, "conflict")
	_, err = archive.Sync(ctx, fs, dst, opts)
	mustT(t, err)
	// Tamper with the server's copy of the child: its param differs now.
	runs, err := dst.SearchRuns(ctx, store.RunQuery{ExperimentIDs: expIDs(t, dst, o.expName), Filter: "tags.`mlrun.sourceRunId` = '" + o.child + "'", MaxResults: 10})
	mustT(t, err)
	if len(runs.Runs) != 1 {
		t.Fatalf("%d server runs for the child", len(runs.Runs))
	}
	serverChild := runs.Runs[0].Info.RunID
	mustT(t, dst.LogBatch(ctx, serverChild, nil, []store.Param{{Key: "clash", Value: "server"}}, nil))
	o.resume(t)
	mustT(t, fs.LogBatch(ctx, o.child, nil, []store.Param{{Key: "clash", Value: "source"}}, nil))
	_, err = archive.Sync(ctx, fs, dst, opts)
	if err == nil || !strings.Contains(err.Error(), "clash") {
		t.Fatalf("sync with a conflicting param: %v", err)
	}
	h, err := dst.GetMetricHistory(ctx, serverChild, "rmse")
	mustT(t, err)
	if len(h) != 2 {
		t.Errorf("the refused sync wrote points: %d", len(h))
	}
}

func expIDs(t *testing.T, s *reststore.Store, name string) []string {
	e, err := s.GetExperimentByName(ctx, name)
	mustT(t, err)
	return []string{e.ID}
}

// TestSyncCommand runs the mlrun command against a real server: mlrun
// sync pushes a store logged offline (exit 0), a second sync finds
// nothing to do, and mlrun import of an archive into the server exits 0
// and creates nothing new for runs already synced.
func TestSyncCommand(t *testing.T) {
	v := versions()[len(versions())-1]
	dst := openFresh(t, v)
	defer dst.Close()
	srv := sharedServer(t, v)
	dir := t.TempDir()
	bin := filepath.Join(dir, "mlrun")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/mlrun").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fs, err := fsstore.Open(ctx, filepath.Join(dir, "mlruns"), nil)
	mustT(t, err)
	o := logOffline(t, fs, "cli")
	mustT(t, fs.Close())
	mlrun := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}
	stdout, stderr, code := mlrun("sync", "--from", "./mlruns", "--to", srv.URL)
	if code != 0 || !strings.Contains(stdout, "runs:            3 created, 0 updated, 0 unchanged") {
		t.Fatalf("mlrun sync: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "note: 1 deleted runs of the source were not synced") {
		t.Errorf("mlrun sync: stderr %q lacks the note on the deleted run", stderr)
	}
	stdout, stderr, code = mlrun("sync", "--from", "./mlruns", "--to", srv.URL)
	if code != 0 || !strings.Contains(stdout, "nothing to sync") {
		t.Errorf("second mlrun sync: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if _, stderr, code := mlrun("export", "--tracking-uri", "./mlruns", "-o", "a.tar.gz"); code != 0 {
		t.Fatalf("mlrun export: exit %d: %s", code, stderr)
	}
	stdout, stderr, code = mlrun("import", "--tracking-uri", srv.URL, "a.tar.gz")
	if code != 0 || !strings.Contains(stdout, "nothing to sync") {
		t.Errorf("mlrun import into the server: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	fs, err = fsstore.Open(ctx, filepath.Join(dir, "mlruns"), nil)
	mustT(t, err)
	defer fs.Close()
	o.s = fs
	checkServer(t, v, srv.URL, o)
}

// TestSyncInterrupted cuts a sync short after its first run and syncs
// again: the second sync completes the first (no run twice, every point
// once, the nested runs under their parent), and a third changes nothing.
func TestSyncInterrupted(t *testing.T) {
	v := versions()[len(versions())-1]
	dst := openFresh(t, v)
	defer dst.Close()
	srv := sharedServer(t, v)
	fs, err := fsstore.Open(ctx, filepath.Join(t.TempDir(), "mlruns"), nil)
	mustT(t, err)
	defer fs.Close()
	o := logOffline(t, fs, "interrupted")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := archive.SyncOptions{Progress: func(p archive.Progress) {
		if p.Phase == "sync" && p.Done == 1 {
			cancel()
		}
	}}
	if _, err := archive.Sync(cctx, fs, dst, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sync: %v, want context.Canceled", err)
	}
	st, err := archive.Sync(ctx, fs, dst, archive.SyncOptions{})
	mustT(t, err)
	if st.Runs.Created != 2 || st.Runs.Created+st.Runs.Updated+st.Runs.Unchanged != 3 {
		t.Errorf("sync after the interruption: %+v", st)
	}
	st, err = archive.Sync(ctx, fs, dst, archive.SyncOptions{})
	mustT(t, err)
	if st.Changed() {
		t.Errorf("third sync changed something: %+v", st)
	}
	checkServer(t, v, srv.URL, o)
}
