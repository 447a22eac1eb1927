package sqlstore_test

import (
	"flag"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

var updateFixtures = flag.Bool("update-fixtures", false, "regenerate testdata/mlflow-*.db and .json with testdata/gen.py and the MLflow virtualenvs")

// fixtureRoot is the artifact root testdata/gen.py logs with.
const fixtureRoot = "/tmp/mlrun-sqlstore-fixture/mlruns"

// TestMLflowWrittenFixtures opens databases created and logged by MLflow
// 2.22.5 and 3.17.2 (testdata/mlflow-X.db, made by testdata/gen.py) and
// checks that mlrun reads exactly what MLflow read back from them when it
// wrote them (testdata/mlflow-X.json). It needs no Python. With the
// virtualenv it also checks that mlrun can go on logging to the
// MLflow-written database and that MLflow reads the result as mlrun does.
func TestMLflowWrittenFixtures(t *testing.T) {
	if *updateFixtures {
		for _, v := range versions {
			m := requireMLflow(t, v)
			script, err := filepath.Abs("testdata/gen.py")
			must(t, err)
			out, err := filepath.Abs("testdata")
			must(t, err)
			cmd := m.Command(ctx, "python", script, out)
			cmd.Dir = t.TempDir()
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("gen.py with MLflow %s: %v\n%s", v, err, b)
			}
		}
	}
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel() // the versions' Python processes overlap
			want, err := compat.ReadSnapshot(filepath.Join("testdata", "mlflow-"+v+".json"))
			must(t, err)
			if want.MLflowVersion != v || len(want.Runs) < 15 {
				t.Fatalf("fixture of MLflow %q with %d runs", want.MLflowVersion, len(want.Runs))
			}
			// Work on a copy: Open switches the file to WAL.
			path := filepath.Join(t.TempDir(), "mlflow.db")
			copyFile(t, filepath.Join("testdata", "mlflow-"+v+".db"), path)
			s, err := sqlstore.Open(ctx, path, &sqlstore.Options{ArtifactRoot: fixtureRoot})
			must(t, err)
			defer s.Close()
			if s.MLflowVersion() != v {
				t.Errorf("detected MLflow %q, want %q", s.MLflowVersion(), v)
			}
			got := goDump(t, s)
			got.NormalizeRoot(fixtureRoot)
			wantSame(t, "mlrun reading MLflow's database", want, got)

			// Spot checks of MLflow's encodings as read by mlrun.
			awkward := want.RunByName("awkward values")
			r, err := s.GetRun(ctx, awkward.RunID)
			must(t, err)
			if m, _ := r.Metric("single/09"); !math.IsNaN(m.Value) {
				t.Errorf("NaN metric read as %v", m.Value)
			}
			if m, _ := r.Metric("single/10"); m.Value != math.MaxFloat64 {
				t.Errorf("+Inf metric read as %v, want max float64 as MLflow reads it", m.Value)
			}

			// Go on logging to MLflow's database.
			history := want.RunByName("history")
			must(t, s.LogBatch(ctx, history.RunID, []store.Metric{{Key: "loss", Value: 0.001, Timestamp: 1, Step: 1000}},
				[]store.Param{{Key: "added by", Value: "mlrun"}}, []store.Tag{{Key: "mlflow.runName", Value: "history, continued"}}))
			exp := want.Experiments[1].ExperimentID
			added, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: exp, UserID: "go", RunName: "added by mlrun"})
			must(t, err)
			must(t, s.LogInputs(ctx, added.Info.RunID, []store.DatasetInput{{
				Dataset: store.Dataset{Name: "train", Digest: "a1b2c3d4", SourceType: "local", Source: "{}"},
			}}))
			id, err := s.CreateExperiment(ctx, "added experiment", "", nil)
			must(t, err)
			if id != "5" {
				t.Errorf("new experiment id %q, want 5 (after MLflow's 0-4)", id)
			}
			after := goDump(t, s)
			r, err = s.GetRun(ctx, history.RunID)
			must(t, err)
			if m, _ := r.Metric("loss"); m.Step != 1000 || r.Info.RunName != "history, continued" {
				t.Errorf("after logging: loss %+v, name %q", m, r.Info.RunName)
			}
			must(t, s.Close())

			t.Run("MLflow reads", func(t *testing.T) {
				m := requireMLflow(t, v)
				py := pyDump(t, m, "sqlite:///"+path, 0)
				wantSame(t, "MLflow reading the database after mlrun logged to it", after, py)
				if !strings.Contains(py.MLflowVersion, v) {
					t.Errorf("dumped by MLflow %q", py.MLflowVersion)
				}
			})
		})
	}
}
