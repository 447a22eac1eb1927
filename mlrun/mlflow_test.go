package mlrun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// readArtifactsScript reads a run of a store mlrun wrote with MLflow's
// client: the mlflow.loggedArtifacts and mlflow.log-model.history tags
// (json.loads), a table with mlflow.load_table, the artifact listing, and
// an MLmodel with Model.load.
const readArtifactsScript = `
import json, os, sys, tempfile
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
import mlflow
from mlflow import MlflowClient
from mlflow.models import Model
uri, run_id = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(uri)
c = MlflowClient()
r = c.get_run(run_id)
arts = json.loads(r.data.tags["mlflow.loggedArtifacts"])
hist = json.loads(r.data.tags["mlflow.log-model.history"])
df = mlflow.load_table("sweep.json", run_ids=[run_id])
m = Model.load(c.download_artifacts(run_id, "model-39", tempfile.mkdtemp()))
print(json.dumps({
    "tables": sorted(a["path"] for a in arts),
    "types": sorted(set(a["type"] for a in arts)),
    "history": [h["artifact_path"] for h in hist],
    "history_len": len(r.data.tags["mlflow.log-model.history"]),
    "rows": len(df),
    "columns": [c for c in df.columns if c != "run_id"],
    "listed": sorted(f.path for f in c.list_artifacts(run_id)),
    "model_flavors": sorted(m.flavors),
    "model_run": m.run_id,
}))
`

// TestMLflowReadsArtifactTags has MLflow read what the concurrency and
// model tests leave behind, on a file store (both MLflow versions) and on
// SQLite stores of each version's schema: a table 8 goroutines appended 80
// rows to, 9 tables logged at once, and 40 models whose history is past
// the tag length limit. MLflow parses both JSON tags and sees every entry,
// loads the table and the last model, and lists no lock or temporary file.
func TestMLflowReadsArtifactTags(t *testing.T) {
	type target struct {
		name     string
		versions []string
		open     func(t *testing.T) (*mlrun.Client, string) // client and tracking URI
	}
	targets := []target{
		{"file", []string{"2.22.5", "3.17.2"}, func(t *testing.T) (*mlrun.Client, string) {
			c, dir := openTemp(t, mlrun.WithModelLayout(mlrun.LayoutMLflow2))
			return c, "file://" + dir
		}},
	}
	for _, v := range []string{"2.22.5", "3.17.2"} {
		targets = append(targets, target{"sqlite-" + v, []string{v}, func(t *testing.T) (*mlrun.Client, string) {
			c, dir := openSQLiteStore(t, v, mlrun.WithModelLayout(mlrun.LayoutMLflow2))
			return c, "sqlite:///" + filepath.Join(dir, "mlflow.db")
		}})
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			ctx := context.Background()
			c, uri := tg.open(t)
			run, err := c.StartRun(ctx)
			if err != nil {
				t.Fatal(err)
			}
			runWriters(t, func(w, i int) error {
				return run.LogTable(ctx, []string{"w", "i"}, [][]any{{w, i}}, "sweep.json")
			})
			var wg sync.WaitGroup
			for i := range 9 {
				wg.Go(func() {
					if err := run.LogTable(ctx, []string{"x"}, [][]any{{i}}, fmt.Sprintf("tables/t%d.json", i)); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			logHistoryModels(t, run, 40)
			if err := run.End(ctx); err != nil {
				t.Fatal(err)
			}
			for _, v := range tg.versions {
				out := mlflowtest.Run(t, v, "", readArtifactsScript, uri, run.ID())
				var got struct {
					Tables       []string `json:"tables"`
					Types        []string `json:"types"`
					History      []string `json:"history"`
					HistoryLen   int      `json:"history_len"`
					Rows         int      `json:"rows"`
					Columns      []string `json:"columns"`
					Listed       []string `json:"listed"`
					ModelFlavors []string `json:"model_flavors"`
					ModelRun     string   `json:"model_run"`
				}
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("MLflow %s: %s: %v", v, out, err)
				}
				wantTables := []string{"sweep.json"}
				for i := range 9 {
					wantTables = append(wantTables, fmt.Sprintf("tables/t%d.json", i))
				}
				slices.Sort(wantTables)
				if !slices.Equal(got.Tables, wantTables) || !slices.Equal(got.Types, []string{"table"}) {
					t.Errorf("MLflow %s: loggedArtifacts %v %v, want %v", v, got.Tables, got.Types, wantTables)
				}
				if len(got.History) != 40 || got.History[0] != "model-0" || got.History[39] != "model-39" || got.HistoryLen <= store.MaxTagValueLength {
					t.Errorf("MLflow %s: history of %d models (%d characters)", v, len(got.History), got.HistoryLen)
				}
				if got.Rows != writers*rowsPerWrite || !slices.Equal(got.Columns, []string{"w", "i"}) {
					t.Errorf("MLflow %s: load_table: %d rows, columns %v", v, got.Rows, got.Columns)
				}
				for _, p := range got.Listed {
					if strings.Contains(p, "lock") || strings.Contains(p, ".tmp-") {
						t.Errorf("MLflow %s lists %s", v, p)
					}
				}
				if len(got.Listed) != 42 { // sweep.json, tables, model-0..39
					t.Errorf("MLflow %s lists %d artifacts, want 42: %v", v, len(got.Listed), got.Listed)
				}
				if !slices.Equal(got.ModelFlavors, []string{"go_ridge"}) || got.ModelRun != run.ID() {
					t.Errorf("MLflow %s: model-39 flavors %v run %s", v, got.ModelFlavors, got.ModelRun)
				}
			}
		})
	}
}

// TestResumeMatchesMLflow runs the same sequence in MLflow (3.17.2, on a
// file store, whose update_run_info is the SQL store's) and in mlrun: start
// and end a run, resume it (start_run(run_id=...) / ResumeRun), end it
// again. Both keep the end time while the run is resumed and set a new one
// at the second end.
func TestResumeMatchesMLflow(t *testing.T) {
	out := mlflowtest.Run(t, "3.17.2", t.TempDir(), `
import json, os, time
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
import mlflow
mlflow.set_tracking_uri("file:" + os.path.abspath("mlruns"))
with mlflow.start_run() as r:
    pass
c = mlflow.MlflowClient()
first = c.get_run(r.info.run_id).info
time.sleep(0.01)
mlflow.start_run(run_id=r.info.run_id)
resumed = c.get_run(r.info.run_id).info
time.sleep(0.01)
mlflow.end_run()
again = c.get_run(r.info.run_id).info
print(json.dumps({"resumed_status": resumed.status, "kept": resumed.end_time == first.end_time,
                  "later": again.end_time > first.end_time, "final_status": again.status}))
`)
	var py struct {
		ResumedStatus string `json:"resumed_status"`
		Kept          bool   `json:"kept"`
		Later         bool   `json:"later"`
		FinalStatus   string `json:"final_status"`
	}
	if err := json.Unmarshal(out, &py); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	ctx := context.Background()
	c, _ := openSQLiteStore(t, "", mlrun.WithClock(stepClock()))
	run, _ := c.StartRun(ctx)
	run.End(ctx)
	first, _ := c.GetRun(ctx, run.ID())
	resumedRun, err := c.ResumeRun(ctx, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	resumed, _ := c.GetRun(ctx, run.ID())
	resumedRun.End(ctx)
	again, _ := c.GetRun(ctx, run.ID())
	goSide := struct {
		ResumedStatus string
		Kept, Later   bool
		FinalStatus   string
	}{resumed.Info.Status.String(), *resumed.Info.EndTime == *first.Info.EndTime, *again.Info.EndTime > *first.Info.EndTime, again.Info.Status.String()}
	if goSide.ResumedStatus != py.ResumedStatus || goSide.Kept != py.Kept || goSide.Later != py.Later || goSide.FinalStatus != py.FinalStatus {
		t.Errorf("mlrun %+v, MLflow %+v", goSide, py)
	}
}

// TestDefaultArtifactRootMatchesMLflow has MLflow 3.17.2 and mlrun create
// an experiment in a SQLite store from a fresh current directory, without
// and with _MLFLOW_SERVER_ARTIFACT_ROOT: the artifact locations match.
// (The databases are made by sqlstore, so that MLflow need not run its
// migrations.)
func TestDefaultArtifactRootMatchesMLflow(t *testing.T) {
	ctx := context.Background()
	py := mlflowtest.Python(t, "3.17.2")
	pyDirs := []string{t.TempDir(), t.TempDir()}
	dbs := []string{"a.db", "b.db"} // MLflow caches stores by URI
	for i, d := range pyDirs {
		s, err := sqlstore.Open(ctx, filepath.Join(d, dbs[i]), &sqlstore.Options{ArtifactRoot: filepath.Join(d, "unused")})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	cmd := exec.Command(py, "-c", `
import os, sys
import mlflow
for i, d in enumerate(sys.argv[1:]):
    os.chdir(d)
    if i == 1:
        os.environ["`+mlrun.EnvServerArtifactRoot+`"] = os.path.join(d, "server-root")
    c = mlflow.MlflowClient(tracking_uri="sqlite:///" + "ab"[i] + ".db")
    print(c.get_experiment(c.create_experiment("e")).artifact_location)
`, pyDirs[0], pyDirs[1])
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MLFLOW_TRACKING_URI=") || strings.HasPrefix(kv, mlrun.EnvServerArtifactRoot+"=")
	})
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("MLflow: %v\n%s", err, stderr.String())
	}
	pyLocs := strings.Fields(string(b))
	if len(pyLocs) != 2 {
		t.Fatalf("MLflow printed %q", b)
	}
	for i, env := range []string{"", "server-root"} {
		goDir := t.TempDir()
		t.Chdir(goDir)
		if env != "" {
			t.Setenv(mlrun.EnvServerArtifactRoot, filepath.Join(goDir, env))
		} else {
			t.Setenv(mlrun.EnvServerArtifactRoot, "")
			os.Unsetenv(mlrun.EnvServerArtifactRoot)
		}
		c, err := mlrun.Open(ctx, mlrun.WithTrackingURI("sqlite:///mlflow.db"))
		if err != nil {
			t.Fatal(err)
		}
		exp, err := c.CreateExperiment(ctx, "e")
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		// The ids are random: compare the locations relative to the
		// directories, with the id cut off.
		rel := func(dir, loc string) string { return strings.TrimPrefix(filepath.Dir(loc), dir) }
		if got, want := rel(goDir, exp.ArtifactLocation), rel(pyDirs[i], pyLocs[i]); got != want || got == filepath.Dir(exp.ArtifactLocation) {
			t.Errorf("env %q: mlrun puts experiments at <cwd>%s, MLflow at <cwd>%s (%s, %s)", env, got, want, exp.ArtifactLocation, pyLocs[i])
		}
	}
}
