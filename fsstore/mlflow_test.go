package fsstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/store"
)

// mlflowPythons returns the Python interpreters of the MLflow virtualenvs
// the harness installs (scripts/mlflow-venvs.sh): venv-<version> under
// MLRUN_MLFLOW_VENVS (default $HOME/.cache/mlrun) for each version in
// MLRUN_MLFLOW_VERSIONS (default: internal/compat/mlflow-versions.txt's). A missing
// one skips the test, or fails it when MLRUN_REQUIRE_MLFLOW=1.
func mlflowPythons(t *testing.T) []string {
	t.Helper()
	return mlflowPythonsOf(t, mlflowtest.Versions(pinnedVersions(t)))
}

// newestPythons is mlflowPythons plus the extra versions newer than the
// pinned ones (mlflowtest.NewerExtras: the newest MLflow, as mlflow-skinny,
// when its full package cannot be installed yet).
func newestPythons(t *testing.T) []string {
	t.Helper()
	versions := mlflowtest.Versions(pinnedVersions(t))
	return mlflowPythonsOf(t, append(versions, mlflowtest.NewerExtras(versions)...))
}

func pinnedVersions(t *testing.T) func() []string {
	return func() []string {
		b, err := os.ReadFile(filepath.Join("..", "internal", "compat", "mlflow-versions.txt"))
		if err != nil {
			t.Fatal(err)
		}
		return mlflowtest.ParseVersions(string(b))
	}
}

func mlflowPythonsOf(t *testing.T, versions []string) []string {
	t.Helper()
	var pys []string
	for _, v := range versions {
		py := mlflowtest.PythonPath(v)
		if _, err := os.Stat(py); err != nil {
			if mlflowtest.Required() {
				t.Fatalf("MLflow %s virtualenv missing: %v (run scripts/mlflow-venvs.sh)", v, err)
			}
			t.Skipf("MLflow %s virtualenv missing: %v (run scripts/mlflow-venvs.sh)", v, err)
		}
		pys = append(pys, py)
	}
	return pys
}

type pyStore struct {
	Version     string `json:"version"`
	Experiments map[string]struct {
		Name             string            `json:"name"`
		LifecycleStage   string            `json:"lifecycle_stage"`
		ArtifactLocation string            `json:"artifact_location"`
		Tags             map[string]string `json:"tags"`
	} `json:"experiments"`
	Runs map[string]struct {
		ExperimentID   string              `json:"experiment_id"`
		RunName        string              `json:"run_name"`
		Status         string              `json:"status"`
		LifecycleStage string              `json:"lifecycle_stage"`
		StartTime      int64               `json:"start_time"`
		EndTime        *int64              `json:"end_time"`
		UserID         string              `json:"user_id"`
		ArtifactURI    string              `json:"artifact_uri"`
		Params         map[string]string   `json:"params"`
		Tags           map[string]string   `json:"tags"`
		Metrics        map[string]any      `json:"metrics"`
		History        map[string][][3]any `json:"history"`
		Inputs         [][]json.RawMessage `json:"inputs"`
	} `json:"runs"`
	DatasetSummaries [][]any `json:"dataset_summaries"`
}

// pyNum renders a metric value as mlflow_read.py does.
func pyNum(v float64) any {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return v
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestMLflowReadsStore has MLflow's own FileStore (every interpreter in
// MLRUN_TEST_MLFLOW_PYTHONS, e.g. MLflow 2.22 and 3.17) read a store
// written by fsstore, and compares what it sees with fsstore's view. With
// MLflow >= 3.10 it also runs `mlflow migrate-filestore` on the store.
func TestMLflowReadsStore(t *testing.T) {
	pythons := newestPythons(t)
	root := filepath.Join(t.TempDir(), "mlruns")
	buildGoldenStore(t, root)
	s := openAt(t, root, nil)
	// Names and values that stress the YAML and file formats.
	exp, err := s.CreateExperiment(bg, "yes", "", []store.Tag{{Key: "0", Value: "null"}})
	mustNil(t, err, "CreateExperiment")
	r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: exp, UserID: "007", RunName: "2024-01-01", StartTime: 5})
	mustNil(t, err, "CreateRun")
	mustNil(t, s.LogBatch(bg, r.Info.RunID, []store.Metric{{Key: "m", Value: 1e300, Timestamp: 1, Step: math.MaxInt32}, {Key: "m", Value: -1e-300, Timestamp: 2, Step: -1}},
		[]store.Param{{Key: "p", Value: "~"}, {Key: "q", Value: "é 🚀\n"}}, []store.Tag{{Key: "t", Value: "1:20"}}), "LogBatch")
	mustNil(t, s.LogBatch(bg, r.Info.RunID, nil, nil, []store.Tag{{Key: "mlflow.runName", Value: "renamed-by-tag"}}), "rename by tag")

	for _, py := range pythons {
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(py))), func(t *testing.T) {
			cmd := exec.Command(py, filepath.Join("testdata", "mlflow_read.py"), root)
			cmd.Env = append(os.Environ(), "MLFLOW_ALLOW_FILE_STORE=true")
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			mustNil(t, err, "mlflow_read.py")
			var got pyStore
			mustNil(t, json.Unmarshal(out, &got), "decode")
			t.Logf("MLflow %s read %d experiments, %d runs", got.Version, len(got.Experiments), len(got.Runs))

			ep, err := s.SearchExperiments(bg, store.ExperimentQuery{ViewType: store.AllViews})
			mustNil(t, err, "SearchExperiments")
			if len(got.Experiments) != len(ep.Experiments) {
				t.Errorf("MLflow sees %d experiments, fsstore %d", len(got.Experiments), len(ep.Experiments))
			}
			var expIDs []string
			for _, e := range ep.Experiments {
				expIDs = append(expIDs, e.ID)
				g, ok := got.Experiments[e.ID]
				if !ok || g.Name != e.Name || g.LifecycleStage != e.LifecycleStage || g.ArtifactLocation != e.ArtifactLocation || !mapsEqualT(g.Tags, e.Tags) {
					t.Errorf("experiment %s: MLflow sees %+v, fsstore %+v", e.ID, g, e)
				}
			}
			rp, err := s.SearchRuns(bg, store.RunQuery{ExperimentIDs: expIDs, ViewType: store.AllViews})
			mustNil(t, err, "SearchRuns")
			if len(got.Runs) != len(rp.Runs) {
				t.Errorf("MLflow sees %d runs, fsstore %d", len(got.Runs), len(rp.Runs))
			}
			for _, r := range rp.Runs {
				g, ok := got.Runs[r.Info.RunID]
				i := r.Info
				if !ok || g.ExperimentID != i.ExperimentID || g.RunName != i.RunName || g.Status != i.Status.String() ||
					g.LifecycleStage != i.LifecycleStage || g.StartTime != i.StartTime || !sameJSON(g.EndTime, i.EndTime) ||
					g.UserID != i.UserID || g.ArtifactURI != i.ArtifactURI {
					t.Errorf("run %s: MLflow sees %+v, fsstore %+v", i.RunID, g, i)
					continue
				}
				if !mapsEqualT(g.Params, paramMap(r)) {
					t.Errorf("run %s params: MLflow %v, fsstore %v", i.RunName, g.Params, paramMap(r))
				}
				tags := map[string]string{}
				for _, tg := range r.Data.Tags {
					tags[tg.Key] = tg.Value
				}
				if !mapsEqualT(g.Tags, tags) {
					t.Errorf("run %s tags: MLflow %v, fsstore %v", i.RunName, g.Tags, tags)
				}
				metrics := map[string]any{}
				for _, m := range r.Data.Metrics {
					metrics[m.Key] = pyNum(m.Value)
					h, err := s.GetMetricHistory(bg, i.RunID, m.Key)
					mustNil(t, err, "history")
					var hist [][3]any
					for _, p := range h {
						hist = append(hist, [3]any{p.Timestamp, pyNum(p.Value), p.Step})
					}
					if !sameJSON(g.History[m.Key], hist) {
						t.Errorf("run %s history %s: MLflow %v, fsstore %v", i.RunName, m.Key, g.History[m.Key], hist)
					}
				}
				if !sameJSON(g.Metrics, metrics) {
					t.Errorf("run %s latest metrics: MLflow %v, fsstore %v", i.RunName, g.Metrics, metrics)
				}
				if len(g.Inputs) != len(r.Inputs) {
					t.Errorf("run %s: MLflow sees %d inputs, fsstore %d", i.RunName, len(g.Inputs), len(r.Inputs))
				}
			}
			var sums []string
			for _, d := range got.DatasetSummaries {
				sums = append(sums, strings.TrimSpace(strings.Join(strings.Fields(strings.Trim(jsonText(d), "[]")), " ")))
			}
			sort.Strings(sums)
			if len(sums) != 2 {
				t.Errorf("dataset summaries = %v", sums)
			}

			migrate := filepath.Join(filepath.Dir(py), "mlflow")
			if _, err := os.Stat(migrate); err != nil || !strings.HasPrefix(got.Version, "3.") {
				return
			}
			help, _ := exec.Command(migrate, "migrate-filestore", "--help").CombinedOutput()
			if !strings.Contains(string(help), "--source") {
				t.Logf("MLflow %s has no migrate-filestore", got.Version)
				return
			}
			db := filepath.Join(t.TempDir(), "migrated.db")
			out, err = exec.Command(migrate, "migrate-filestore", "--source", root, "--target", "sqlite:///"+db).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Migration completed successfully") {
				t.Errorf("migrate-filestore: %v\n%s", err, out)
			}
		})
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestMLflowArtifactLocations has each MLflow version's FileStore create
// experiments with the same artifact locations as fsstore, from the same
// working directory: fsstore stores exactly the location MLflow stores
// (relative paths made absolute by resolve_uri_if_local, percent escapes
// decoded, ".." kept; URIs as given), and MLflow reads fsstore's
// experiments and creates runs in them.
func TestMLflowArtifactLocations(t *testing.T) {
	pythons := mlflowPythons(t)
	locs := []string{"rel/dir", "a/../b", "./c", "rel%20x", "file:frel", "/abs/loc", "file:///abs/f", "s3://bucket/p",
		"s3://bucket/q?versionId=1", "mlflow-artifacts:/exp", "gs://b/x", "/data/été"}
	cwd := t.TempDir()
	t.Chdir(cwd)
	root := filepath.Join(t.TempDir(), "mlruns")
	s := openAt(t, root, nil)
	goLocs := map[string]string{}
	for i, loc := range locs {
		id, err := s.CreateExperiment(bg, fmt.Sprintf("loc-%d", i), loc, nil)
		mustNil(t, err, "CreateExperiment "+loc)
		e, err := s.GetExperiment(bg, id)
		mustNil(t, err, "GetExperiment")
		goLocs[e.Name] = e.ArtifactLocation
	}
	locsJSON, _ := json.Marshal(locs)
	const script = `
import json, os, sys
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
from mlflow import MlflowClient
go_root, py_root, locs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
out = {"mlflow": {}, "reads": {}}
py = MlflowClient(tracking_uri=py_root)
for i, loc in enumerate(locs):
    eid = py.create_experiment("loc-%d" % i, artifact_location=loc)
    out["mlflow"]["loc-%d" % i] = py.get_experiment(eid).artifact_location
go = MlflowClient(tracking_uri=go_root)
for e in go.search_experiments():
    go.create_run(e.experiment_id)  # MLflow derives the run's artifact URI from the location
    out["reads"][e.name] = e.artifact_location
print(json.dumps(out))
`
	for _, py := range pythons {
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(py))), func(t *testing.T) {
			// MLflow writes runs into fsstore's store: use a copy.
			goRoot := filepath.Join(t.TempDir(), "mlruns")
			mustNil(t, os.CopyFS(goRoot, os.DirFS(root)), "copy")
			cmd := exec.Command(py, "-c", script, goRoot, filepath.Join(t.TempDir(), "mlruns"), string(locsJSON))
			cmd.Dir = cwd
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			mustNil(t, err, "python")
			var got struct {
				MLflow map[string]string `json:"mlflow"`
				Reads  map[string]string `json:"reads"`
			}
			mustNil(t, json.Unmarshal(out[bytes.LastIndexByte(bytes.TrimSpace(out), '\n')+1:], &got), "decode")
			for name, goLoc := range goLocs {
				if got.MLflow[name] != goLoc {
					t.Errorf("%s: MLflow stores %q, fsstore %q", name, got.MLflow[name], goLoc)
				}
				if got.Reads[name] != goLoc {
					t.Errorf("%s: MLflow reads fsstore's location as %q, want %q", name, got.Reads[name], goLoc)
				}
			}
		})
	}
}
