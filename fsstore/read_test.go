package fsstore

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// restoreRunDirs recreates the metrics/, params/ and artifacts/
// directories MLflow makes in every run directory, which git drops when
// they are empty: a run directory is one holding meta.yaml inside an
// experiment directory (at the root or under .trash).
func restoreRunDirs(t *testing.T, root string) {
	t.Helper()
	for _, parent := range []string{root, filepath.Join(root, trashDir)} {
		exps, _ := os.ReadDir(parent)
		for _, e := range exps {
			if !e.IsDir() || e.Name() == trashDir || e.Name() == "models" {
				continue
			}
			runs, _ := os.ReadDir(filepath.Join(parent, e.Name()))
			for _, r := range runs {
				dir := filepath.Join(parent, e.Name(), r.Name())
				if _, err := os.Stat(filepath.Join(dir, metaFile)); err != nil || !r.IsDir() {
					continue
				}
				for _, sub := range []string{metricsDir, paramsDir, artifactsDir} {
					mustNil(t, os.MkdirAll(filepath.Join(dir, sub), 0o755), "restore run dir")
				}
			}
		}
	}
}

// copyFixture copies testdata/<name>/mlruns to a temporary directory (Open
// adds its lock file and staging folder, which must not land in testdata).
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "mlruns")
	mustNil(t, os.CopyFS(dst, os.DirFS(filepath.Join("testdata", name, "mlruns"))), "copy fixture")
	restoreRunDirs(t, dst)
	return dst
}

func expByName(t *testing.T, s *Store, name string) *store.Experiment {
	t.Helper()
	e, err := s.GetExperimentByName(bg, name)
	mustNil(t, err, "GetExperimentByName "+name)
	return e
}

func runsByName(t *testing.T, s *Store, expID string) map[string]*store.Run {
	t.Helper()
	p, err := s.SearchRuns(bg, store.RunQuery{ExperimentIDs: []string{expID}, ViewType: store.AllViews})
	mustNil(t, err, "SearchRuns")
	m := map[string]*store.Run{}
	for _, r := range p.Runs {
		m[r.Info.RunName] = r
	}
	return m
}

// TestReadMLflowFixtures reads stores written by MLflow 2.22.5 and 3.17.2
// (testdata/gen_fixtures.py), plus the legacy entries the generator adds:
// an int experiment_id, a run with only run_uuid and an int
// experiment_id, a 2-field metric line, an empty run_name, stray files,
// and MLflow 3's traces/, models/ (logged models), 5-field metric lines,
// and the model registry at the root.
func TestReadMLflowFixtures(t *testing.T) {
	for _, fixture := range []string{"mlflow-2.22.5", "mlflow-3.17.2"} {
		t.Run(fixture, func(t *testing.T) {
			root := copyFixture(t, fixture)
			s := openAt(t, root, nil)
			if _, err := os.Stat(filepath.Join(root, "0", metaFile)); err != nil {
				t.Fatal(err)
			}
			p, err := s.SearchExperiments(bg, store.ExperimentQuery{ViewType: store.AllViews})
			mustNil(t, err, "SearchExperiments")
			var names []string
			for _, e := range p.Experiments {
				names = append(names, e.Name+"/"+e.LifecycleStage)
			}
			slices.Sort(names)
			want := []string{"Default/active", "deleted-exp/deleted", "fixture/active", "legacy/active", "renamed/active"}
			if !slices.Equal(names, want) {
				t.Errorf("experiments = %v, want %v", names, want)
			}
			fx := expByName(t, s, "fixture")
			if !mapsEqualT(fx.Tags, map[string]string{"team": "core", "a/b": "nested"}) {
				t.Errorf("fixture tags = %v", fx.Tags)
			}
			runs := runsByName(t, s, fx.ID)
			if len(runs) != 3 {
				t.Fatalf("runs of fixture = %v", keysOf(runs))
			}
			full := runs["full"]
			if full == nil {
				t.Fatal("no run named full")
			}
			if full.Info.StartTime != 1700000000000 || full.Info.Status != store.StatusRunning || full.Info.LifecycleStage != store.LifecycleActive {
				t.Errorf("full info = %+v", full.Info)
			}
			loss, _ := full.Metric("loss")
			if !math.IsNaN(loss.Value) || loss.Step != 2 {
				t.Errorf("latest loss = %+v", loss)
			}
			special, err := s.GetMetricHistory(bg, full.Info.RunID, "special")
			mustNil(t, err, "history")
			wantVals := []float64{math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1e-05}
			if len(special) != 4 {
				t.Fatalf("special history = %+v", special)
			}
			for i, m := range special {
				if m.Value != wantVals[i] || math.Signbit(m.Value) != math.Signbit(wantVals[i]) || m.Step != int64(-1-i) {
					t.Errorf("special[%d] = %+v, want value %v step %d", i, m, wantVals[i], -1-i)
				}
			}
			if acc, _ := full.Metric("train/acc"); acc.Value != 0.9 || acc.Step != 7 {
				t.Errorf("train/acc = %+v", acc)
			}
			if !mapsEqualT(paramMap(full), map[string]string{"lr": "0.001", "nested/p": "yes", "empty": ""}) {
				t.Errorf("params = %v", paramMap(full))
			}
			if v, _ := full.Tag("multi"); v != "line1\nline2" {
				t.Errorf("multi tag = %q", v)
			}
			if len(full.Inputs) != 1 || full.Inputs[0].Dataset.Name != "ds" || full.Inputs[0].Dataset.Digest != "abc123" ||
				full.Inputs[0].Dataset.Profile != `{"num_rows": 2}` || len(full.Inputs[0].Tags) != 1 || full.Inputs[0].Tags[0].Value != "training" {
				t.Errorf("inputs = %+v", full.Inputs)
			}
			if strings.HasPrefix(fixture, "mlflow-3") {
				// 5-field lines: ts value step dataset_name dataset_digest.
				h, err := s.GetMetricHistory(bg, full.Info.RunID, "eval_loss")
				mustNil(t, err, "eval_loss history")
				if len(h) != 2 || h[0].Step != 3 || h[1].Value != 0.5 || h[1].Timestamp != 11 || h[1].Step != 4 {
					t.Errorf("eval_loss = %+v", h)
				}
			}
			if fin := runs["finished"]; fin == nil || fin.Info.Status != store.StatusFinished || fin.Info.EndTime == nil || *fin.Info.EndTime != 1700000002000 {
				t.Errorf("finished = %+v", fin)
			}
			if del := runs["deleted-run"]; del == nil || del.Info.LifecycleStage != store.LifecycleDeleted || del.Info.DeletedTime == nil {
				t.Errorf("deleted-run = %+v", del)
			}
			// The deleted experiment's run, in .trash.
			de := expByName(t, s, "deleted-exp")
			if r := runsByName(t, s, de.ID)["in-deleted"]; r == nil || r.Info.LifecycleStage != store.LifecycleDeleted {
				t.Errorf("in-deleted = %+v", r)
			}
			// Legacy entries.
			legacy := expByName(t, s, "legacy")
			if legacy.ID != "7" {
				t.Errorf("legacy id = %q", legacy.ID)
			}
			lr, err := s.GetRun(bg, "0123456789abcdef0123456789abcdef")
			mustNil(t, err, "GetRun legacy")
			if lr.Info.RunName != "legacy-run" || lr.Info.ExperimentID != "7" || lr.Info.UserID != "bob" || lr.Info.Status != store.StatusFinished {
				t.Errorf("legacy run = %+v", lr.Info)
			}
			h, err := s.GetMetricHistory(bg, lr.Info.RunID, "old")
			mustNil(t, err, "legacy history")
			if len(h) != 2 || h[0].Step != 0 || h[0].Value != 1.5 || h[1].Step != 1 {
				t.Errorf("legacy history = %+v", h)
			}

			// Writing into an MLflow-made store.
			mustNil(t, s.LogBatch(bg, full.Info.RunID, []store.Metric{{Key: "loss", Value: 0.125, Timestamp: 1700000000009, Step: 3}},
				[]store.Param{{Key: "lr", Value: "0.001"}, {Key: "new", Value: "p"}}, nil), "LogBatch")
			err = s.LogBatch(bg, full.Info.RunID, nil, []store.Param{{Key: "lr", Value: "0.002"}}, nil)
			if !errors.Is(err, store.ErrInvalidParameter) {
				t.Errorf("changing an MLflow-logged param: %v", err)
			}
			r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: fx.ID, UserID: "go", RunName: "from-go"})
			mustNil(t, err, "CreateRun")
			if !strings.HasPrefix(r.Info.ArtifactURI, fx.ArtifactLocation+"/") {
				t.Errorf("artifact URI %q not under %q", r.Info.ArtifactURI, fx.ArtifactLocation)
			}
			_, err = s.UpdateRun(bg, lr.Info.RunID, store.RunUpdate{RunName: "renamed-legacy"})
			mustNil(t, err, "UpdateRun legacy")
			mustNil(t, s.RenameExperiment(bg, legacy.ID, "legacy renamed"), "RenameExperiment legacy")
			mustNil(t, s.RestoreExperiment(bg, de.ID), "RestoreExperiment of an MLflow-deleted experiment")
			if r := runsByName(t, s, de.ID)["in-deleted"]; r == nil || r.Info.LifecycleStage != store.LifecycleActive {
				t.Errorf("in-deleted after restore = %+v", r)
			}
			mustNil(t, s.DeleteExperiment(bg, de.ID), "DeleteExperiment")
			checkLayout(t, root)
		})
	}
}

func paramMap(r *store.Run) map[string]string {
	m := map[string]string{}
	for _, p := range r.Data.Params {
		m[p.Key] = p.Value
	}
	return m
}

func mapsEqualT(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

// TestOpenExistingRoot checks MLflow's initialization rules: a root with
// content is not given a Default experiment; an empty one is.
func TestOpenExistingRoot(t *testing.T) {
	root := t.TempDir()
	mustNil(t, os.MkdirAll(filepath.Join(root, "5"), 0o777), "mkdir")
	mustNil(t, os.WriteFile(filepath.Join(root, "5", metaFile), []byte("artifact_location: /x\nexperiment_id: '5'\nlifecycle_stage: active\nname: five\n"), 0o666), "write")
	s := openAt(t, root, nil)
	if _, err := s.GetExperiment(bg, "0"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Default created in an existing store: %v", err)
	}
	if info, err := os.Stat(filepath.Join(root, trashDir)); err != nil || !info.IsDir() {
		t.Errorf(".trash not created: %v", err)
	}
	if e, err := s.GetExperiment(bg, "5"); err != nil || e.Name != "five" {
		t.Errorf("GetExperiment(5) = %+v, %v", e, err)
	}
	// A missing root, nested, is created with Default.
	s2 := openAt(t, filepath.Join(t.TempDir(), "a", "b", "mlruns"), nil)
	if _, err := s2.GetExperiment(bg, "0"); err != nil {
		t.Errorf("Default: %v", err)
	}
	// Reopening does not recreate or duplicate anything.
	s3 := openAt(t, s2.Root(), nil)
	p, err := s3.SearchExperiments(bg, store.ExperimentQuery{ViewType: store.AllViews})
	mustNil(t, err, "SearchExperiments")
	if len(p.Experiments) != 1 {
		t.Errorf("%d experiments after reopening", len(p.Experiments))
	}
	// A file is not a store.
	f := filepath.Join(t.TempDir(), "file")
	mustNil(t, os.WriteFile(f, nil, 0o666), "write")
	if _, err := Open(bg, f, nil); err == nil {
		t.Error("Open(file) succeeded")
	}
}

// TestCorruptMeta checks that unreadable meta.yaml files give ErrCorrupt
// errors naming the file, from every operation that reads them.
func TestCorruptMeta(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
	}{
		{"garbage", "this: [is not\n  valid: yaml\n"},
		{"truncated", "artifact_uri: file:///x/artifacts\nend_time: null\nentry_point_name: ''\nexperiment_id: '"},
		{"truncated at a line", "artifact_uri: file:///x/artifacts\nend_time: null\nentry_point_name: ''\n"},
		{"not a mapping", "- a\n- b\n"},
		{"bad status", "run_id: R\nexperiment_id: 'E'\nuser_id: u\nstart_time: 1\nend_time: null\nstatus: 99\n"},
		{"bad start_time", "run_id: R\nexperiment_id: 'E'\nuser_id: u\nstart_time: soon\nend_time: null\n"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, nil)
			exp, err := s.CreateExperiment(bg, "e", "", nil)
			mustNil(t, err, "CreateExperiment")
			r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: exp, UserID: "u"})
			mustNil(t, err, "CreateRun")
			path := filepath.Join(s.Root(), exp, r.Info.RunID, metaFile)
			content := strings.NewReplacer("'E'", "'"+exp+"'", "run_id: R", "run_id: "+r.Info.RunID).Replace(tc.content)
			mustNil(t, os.WriteFile(path, []byte(content), 0o666), "corrupt")
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), path) {
					t.Errorf("%s: err = %v, want ErrCorrupt naming %s", what, err, path)
				}
			}
			_, err = s.GetRun(bg, r.Info.RunID)
			check("GetRun", err)
			_, err = s.SearchRuns(bg, store.RunQuery{ExperimentIDs: []string{exp}})
			check("SearchRuns", err)
			check("LogBatch", s.LogBatch(bg, r.Info.RunID, []store.Metric{{Key: "m", Value: 1}}, nil, nil))
			_, err = s.UpdateRun(bg, r.Info.RunID, store.RunUpdate{Status: store.StatusFinished})
			check("UpdateRun", err)
		})
	}
	t.Run("experiment", func(t *testing.T) {
		s := openStore(t, nil)
		exp, err := s.CreateExperiment(bg, "e", "", nil)
		mustNil(t, err, "CreateExperiment")
		path := filepath.Join(s.Root(), exp, metaFile)
		mustNil(t, os.WriteFile(path, []byte("name: [broken\n"), 0o666), "corrupt")
		for what, err := range map[string]error{
			"GetExperiment":       second(s.GetExperiment(bg, exp)),
			"GetExperimentByName": second(s.GetExperimentByName(bg, "Default")),
			"SearchExperiments":   second(s.SearchExperiments(bg, store.ExperimentQuery{})),
			"CreateExperiment":    second(s.CreateExperiment(bg, "other", "", nil)),
		} {
			if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: err = %v, want ErrCorrupt naming %s", what, err, path)
			}
		}
		// An experiment with a missing meta.yaml is skipped by listings, as
		// MLflow skips it.
		mustNil(t, os.Remove(path), "remove")
		p, err := s.SearchExperiments(bg, store.ExperimentQuery{})
		if err != nil || len(p.Experiments) != 1 {
			t.Errorf("SearchExperiments with a meta-less experiment dir = %v, %v", p, err)
		}
	})
	t.Run("metric file", func(t *testing.T) {
		s := openStore(t, nil)
		r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: "0", UserID: "u"})
		mustNil(t, err, "CreateRun")
		path := filepath.Join(s.Root(), "0", r.Info.RunID, metricsDir, "m")
		mustNil(t, os.WriteFile(path, []byte("1 0.5 0\nnot a line\n2 0.25 1\n"), 0o666), "write")
		_, err = s.GetRun(bg, r.Info.RunID)
		if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Errorf("GetRun: %v", err)
		}
		// A torn (unterminated, unparsable) last line is ignored; a
		// complete unterminated one is read.
		mustNil(t, os.WriteFile(path, []byte("1 0.5 0\n2 0.2"), 0o666), "write")
		h, err := s.GetMetricHistory(bg, r.Info.RunID, "m")
		if err != nil || len(h) != 2 || h[1].Value != 0.2 {
			t.Errorf("history = %+v, %v", h, err)
		}
		mustNil(t, os.WriteFile(path, []byte("1 0.5 0\n2 0.2 1"), 0o666), "write")
		mustNil(t, os.WriteFile(path, []byte("1 0.5 0\n2 0."), 0o666), "write")
		h, err = s.GetMetricHistory(bg, r.Info.RunID, "m")
		if err != nil || len(h) != 2 {
			t.Errorf("history = %+v, %v", h, err)
		}
		mustNil(t, os.WriteFile(path, []byte("1 0.5 0\n2 x"), 0o666), "write")
		h, err = s.GetMetricHistory(bg, r.Info.RunID, "m")
		if err != nil || len(h) != 1 {
			t.Errorf("history with a torn line = %+v, %v", h, err)
		}
	})
}

func second[T any](_ T, err error) error { return err }
