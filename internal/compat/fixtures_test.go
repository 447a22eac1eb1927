package compat_test

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

const fixturesDir = "../../testdata/fixtures"

// relocateFixture copies a fixture's store into a temp dir, restores the
// empty directories git does not keep (empty-dirs.txt), and rewrites the
// absolute root MLflow recorded in its meta.yaml files (root.txt) to the
// new location, as a user moving an mlruns directory would. It returns the
// new root.
func relocateFixture(t *testing.T, dir string) string {
	t.Helper()
	oldRoot, err := os.ReadFile(filepath.Join(dir, "root.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// A fixture without the list has no empty directories.
	empty, err := os.ReadFile(filepath.Join(dir, "empty-dirs.txt"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "mlruns")
	copyDir(t, filepath.Join(dir, "mlruns"), root)
	for _, rel := range strings.Split(string(empty), "\n") {
		if rel == "" {
			continue
		}
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			t.Fatalf("%s/empty-dirs.txt: bad entry %q", dir, rel)
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rewritten := 0
	err = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || info.Name() != "meta.yaml" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := strings.ReplaceAll(string(b), string(oldRoot), root)
		if s != string(b) {
			rewritten++
		}
		return os.WriteFile(p, []byte(s), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rewritten == 0 {
		t.Fatalf("no meta.yaml in %s mentions the recorded root %s", dir, oldRoot)
	}
	return root
}

// TestFixtures proves that mlrun reads stores written by real MLflow: each
// pinned version's fixture, opened with fsstore and dumped by Go, equals the
// dump MLflow made of it. With the version's venv it also checks the
// fixture (python) and that the SQLite normalisation the migrate tests use
// is MLflow's own (migrate, newest version); last, go-writes changes the
// fixture through mlrun and requires MLflow to read what Go reads.
func TestFixtures(t *testing.T) {
	for _, v := range compat.PinnedVersions() {
		t.Run("mlflow-"+v, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(fixturesDir, "mlflow-"+v)
			want, err := compat.ReadSnapshot(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatalf("fixture for MLflow %s: %v (see testdata/fixtures/README.md)", v, err)
			}
			checkFixtureRich(t, want)
			root := relocateFixture(t, dir)

			got := goDump(t, root, &compat.DumpOptions{Root: root, PageSize: 4})
			checkClean(t, "Go dump", got)
			checkSame(t, "fsstore reading the MLflow "+v+" fixture", want, got)

			t.Run("python", func(t *testing.T) {
				m := compat.Require(t, v)
				py, err := m.DumpClient(context.Background(), fileURI(root), &compat.PyDumpOptions{Root: root})
				if err != nil {
					t.Fatal(err)
				}
				checkClean(t, "MLflow dump", py)
				checkSame(t, "MLflow "+v+" re-reading its relocated fixture", want, py)
			})

			if v == compat.NewestVersion() {
				t.Run("migrate", func(t *testing.T) { checkMigratedFixture(t, v, root, want) })
			}

			// Last, as it changes the store: mlrun writes into the
			// MLflow-written store, and MLflow must read what Go reads.
			t.Run("go-writes", func(t *testing.T) {
				m := compat.Require(t, v)
				rich := want.RunByName("rich ✓")
				writeIntoFixture(t, root, want)
				got := goDump(t, root, &compat.DumpOptions{Root: root})
				checkClean(t, "Go dump after Go wrote", got)
				py, err := m.DumpClient(context.Background(), fileURI(root), &compat.PyDumpOptions{Root: root})
				if err != nil {
					t.Fatal(err)
				}
				checkClean(t, "MLflow dump after Go wrote", py)
				checkSame(t, "Go and MLflow "+v+" reading its fixture after mlrun wrote into it", got, py)
				r := py.Run(rich.RunID)
				if r == nil || r.Status != "FAILED" || r.Params["added_by_go"] != "ünï ✓" || r.LatestMetrics["loss"] != "0.001" {
					t.Errorf("MLflow does not see mlrun's writes to run %s", rich.RunID)
				}
				if n := py.RunByName("written by mlrun: ✓"); n == nil || n.Status != "KILLED" || n.LatestMetrics["m"] != "-0.0" || len(n.Artifacts) != 1 {
					t.Errorf("MLflow does not see the run mlrun created: %+v", n)
				}
				if e := py.Experiment(rich.ExperimentID); e == nil || !strings.HasSuffix(e.Name, " (renamed by mlrun)") || e.Tags["go"] != "1:20" {
					t.Errorf("MLflow does not see mlrun's rename and tag of experiment %s", rich.ExperimentID)
				}
				for _, name := range []string{"restored-run", "default-exp-run"} {
					if r := py.RunByName(name); r == nil || r.LifecycleStage != "deleted" {
						t.Errorf("MLflow does not see that mlrun deleted run %q", name)
					}
				}
				if r := py.RunByName("1:20"); r == nil || r.Status != "KILLED" {
					t.Errorf("MLflow does not see that mlrun resumed and killed the SCHEDULED run")
				}
			})
		})
	}
}

// writeIntoFixture changes an MLflow-written store through mlrun's public
// API: it resumes and appends to MLflow runs, adds a run, deletes runs (one
// in the Default experiment), tags and renames an experiment.
func writeIntoFixture(t *testing.T, root string, want *compat.Snapshot) {
	t.Helper()
	ctx := context.Background()
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(fileURI(root)), mlrun.WithUser("go-writer"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	rich := want.RunByName("rich ✓")
	r, err := c.ResumeRun(ctx, rich.RunID)
	must(err)
	must(r.LogMetric(ctx, "loss", 0.001, mlrun.WithStep(100), mlrun.WithTimestamp(1_700_000_100_000)))
	must(r.LogParam(ctx, "added_by_go", "ünï ✓"))
	must(r.SetTag(ctx, "go/tag", "yes"))
	must(r.End(ctx, mlrun.WithStatus(store.StatusFailed)))

	scheduled, err := c.ResumeRun(ctx, want.RunByName("1:20").RunID)
	must(err)
	must(scheduled.End(ctx, mlrun.WithStatus(store.StatusKilled)))

	n, err := c.StartRun(ctx, mlrun.WithExperimentID(rich.ExperimentID), mlrun.WithRunName("written by mlrun: ✓"))
	must(err)
	must(n.LogMetric(ctx, "m", math.Copysign(0, -1)))
	must(n.LogText(ctx, "from go\n", "go/out.txt"))
	must(n.End(ctx, mlrun.WithStatus(store.StatusKilled)))

	must(c.DeleteRun(ctx, want.RunByName("restored-run").RunID))
	must(c.DeleteRun(ctx, want.RunByName("default-exp-run").RunID))
	must(c.SetExperimentTag(ctx, rich.ExperimentID, "go", "1:20"))
	exp := want.Experiment(rich.ExperimentID)
	must(c.RenameExperiment(ctx, exp.ExperimentID, exp.Name+" (renamed by mlrun)"))
}

// checkMigratedFixture migrates a Python-written fixture with the newest
// MLflow and compares it with the fixture's expected dump under
// sqlNormalize: the control showing that sqlNormalize forgives only what
// MLflow itself loses.
func checkMigratedFixture(t *testing.T, v, root string, want *compat.Snapshot) {
	m := compat.Require(t, v)
	db := filepath.Join(t.TempDir(), "m.db")
	ctx := context.Background()
	out, err := m.MigrateFileStore(ctx, root, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logProblems(out) {
		t.Errorf("migrate-filestore: %s", l)
	}
	py, err := m.DumpClient(ctx, "sqlite:///"+db, &compat.PyDumpOptions{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, "MLflow dump of the migrated DB", py)
	if len(compat.Compare(want, py)) == 0 {
		t.Error("the migrated fixture equals the file store's dump: the fixture no longer shows the losses sqlNormalize forgives")
	}
	checkSame(t, "migrated MLflow fixture", sqlNormalize(want), py)
}

// checkFixtureRich guards against a vacuous comparison: the fixture must
// hold the cases it is meant to cover.
func checkFixtureRich(t *testing.T, s *compat.Snapshot) {
	t.Helper()
	if len(s.Experiments) < 12 || len(s.Runs) < 40 {
		t.Fatalf("fixture has %d experiments and %d runs; regenerate it", len(s.Experiments), len(s.Runs))
	}
	rich := s.RunByName("rich ✓")
	if rich == nil {
		t.Fatal(`fixture has no run "rich ✓"`)
	}
	if n := len([]rune(rich.Params["long"])); n != 6000 {
		t.Errorf("fixture param long has %d chars, want 6000", n)
	}
	for key, want := range map[string]string{"nan": "nan", "neg_zero": "-0.0", "inf": "inf", "tiny": "1e-05"} {
		if got := rich.LatestMetrics[key]; got != want {
			t.Errorf("fixture metric %s = %q, want %q", key, got, want)
		}
	}
	if len(rich.Inputs) != 2 || len(rich.Artifacts) < 8 {
		t.Errorf("fixture rich run has %d inputs and %d artifacts", len(rich.Inputs), len(rich.Artifacts))
	}
	statuses := map[string]bool{}
	for _, r := range s.Runs {
		statuses[r.Status] = true
	}
	if len(statuses) != 5 {
		t.Errorf("fixture run statuses %v, want all five", statuses)
	}
}
