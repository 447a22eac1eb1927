package mlrun_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// stepClock is a clock that moves one second at each reading.
func stepClock() func() time.Time {
	var n atomic.Int64
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Second) }
}

// TestStickyError: a Run keeps its first logging error, Err reports it and
// End returns it, while the calls that succeed are logged and the run ends
// with the status asked for.
func TestStickyError(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if run.Err() != nil {
		t.Fatalf("new run: Err() = %v", run.Err())
	}
	run.LogMetric(ctx, "loss", 1)
	first := run.LogParam(ctx, "bad key!", 1)
	if !errors.Is(first, store.ErrInvalidParameter) {
		t.Fatalf("bad key: %v", first)
	}
	run.LogMetric(ctx, "loss", 0.5, mlrun.WithStep(1))
	second := run.LogText(ctx, "x", "../x")
	if second == nil {
		t.Fatal("bad artifact path accepted")
	}
	if got := run.Err(); got != first {
		t.Errorf("Err() = %v, want the first error %v", got, first)
	}
	err = run.End(ctx)
	if !errors.Is(err, first) || !strings.Contains(err.Error(), "bad key!") {
		t.Errorf("End = %v, want the first logging error", err)
	}
	if err := run.End(ctx); err != nil {
		t.Errorf("second End = %v, want nil", err)
	}
	r, _ := run.Get(ctx)
	if r.Info.Status != store.StatusFinished {
		t.Errorf("status %v, want FINISHED", r.Info.Status)
	}
	if h, _ := c.GetMetricHistory(ctx, run.ID(), "loss"); len(h) != 2 {
		t.Errorf("the good calls were not all logged: %d points", len(h))
	}

	clean, _ := c.StartRun(ctx)
	clean.LogMetric(ctx, "m", 1)
	if err := clean.End(ctx); err != nil || clean.Err() != nil {
		t.Errorf("clean run: End = %v, Err = %v", err, clean.Err())
	}
}

// TestResumeKeepsEndTime: resuming a finished run makes it RUNNING and
// keeps its end time, as mlflow.start_run(run_id=...) does; ending it again
// sets a new end time, as mlflow.end_run does (TestResumeMatchesMLflow
// checks MLflow). Client.LogModel logs to the finished run without
// touching either.
func TestResumeKeepsEndTime(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, _ := b.open(t, mlrun.WithClock(stepClock()))
		run, err := c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := run.End(ctx); err != nil {
			t.Fatal(err)
		}
		info := func() store.RunInfo {
			t.Helper()
			r, err := c.GetRun(ctx, run.ID())
			if err != nil {
				t.Fatal(err)
			}
			return r.Info
		}
		ended := info()
		if ended.EndTime == nil {
			t.Fatal("no end time")
		}
		// Client.LogModel: the best model after a sweep, both layouts.
		for _, layout := range []mlrun.ModelLayout{mlrun.LayoutMLflow2, mlrun.LayoutMLflow3} {
			lc, err := mlrun.Open(ctx, mlrun.WithStore(c.Store()), mlrun.WithModelLayout(layout))
			if err != nil {
				t.Fatal(err)
			}
			lm, err := lc.LogModel(ctx, run.ID(), "best", mlrun.Model{
				Flavors: map[string]map[string]any{"go_ridge": {"data": "w.json"}},
				Files:   map[string][]byte{"w.json": []byte("[1]")},
			})
			if err != nil {
				t.Fatalf("%v: Client.LogModel: %v", layout, err)
			}
			if p, err := lc.ResolveModelURI(ctx, lm.URI); err != nil {
				t.Errorf("%v: resolve %s: %v", layout, lm.URI, err)
			} else if w, _ := os.ReadFile(filepath.Join(p, "w.json")); string(w) != "[1]" {
				t.Errorf("%v: model files %q", layout, w)
			}
			if got := info(); got.Status != store.StatusFinished || *got.EndTime != *ended.EndTime {
				t.Errorf("%v: Client.LogModel changed the run: %v, end %d (was %d)", layout, got.Status, *got.EndTime, *ended.EndTime)
			}
		}
		if _, err := run.LogModel(ctx, "x", mlrun.Model{Flavors: map[string]map[string]any{"f": {}}}); !errors.Is(err, store.ErrInvalidState) ||
			!strings.Contains(err.Error(), "LogModel") {
			t.Errorf("Run.LogModel on an ended handle: %v, want ErrInvalidState pointing to Client.LogModel", err)
		}

		resumed, err := c.ResumeRun(ctx, run.ID())
		if err != nil {
			t.Fatal(err)
		}
		got := info()
		if got.Status != store.StatusRunning || got.EndTime == nil || *got.EndTime != *ended.EndTime {
			t.Errorf("resumed: status %v, end time %v; want RUNNING and the old end time %d", got.Status, got.EndTime, *ended.EndTime)
		}
		if err := resumed.End(ctx); err != nil {
			t.Fatal(err)
		}
		if got := info(); got.Status != store.StatusFinished || *got.EndTime <= *ended.EndTime {
			t.Errorf("ended again: status %v, end time %d; want FINISHED and a later end time than %d", got.Status, *got.EndTime, *ended.EndTime)
		}

		if err := c.DeleteRun(ctx, run.ID()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.LogModel(ctx, run.ID(), "m", mlrun.Model{Flavors: map[string]map[string]any{"f": {}}}); !errors.Is(err, store.ErrInvalidState) {
			t.Errorf("Client.LogModel on a deleted run: %v", err)
		}
	})
}

// TestSearchRunsCurrentExperiment: SearchRuns without experiment ids
// searches the current experiment, as mlflow.search_runs does.
func TestSearchRunsCurrentExperiment(t *testing.T) {
	ctx := context.Background()
	t.Setenv("MLFLOW_EXPERIMENT_NAME", "")
	t.Setenv("MLFLOW_EXPERIMENT_ID", "")
	c, _ := openTemp(t)
	inDefault, _ := c.StartRun(ctx)
	ids := func() []string {
		t.Helper()
		page, err := c.SearchRuns(ctx, store.RunQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range page.Runs {
			out = append(out, r.Info.RunID)
		}
		return out
	}
	if got := ids(); len(got) != 1 || got[0] != inDefault.ID() {
		t.Errorf("no experiment set: %v, want the Default experiment's run %s", got, inDefault.ID())
	}
	exp, err := c.SetExperiment(ctx, "current")
	if err != nil {
		t.Fatal(err)
	}
	inCurrent, _ := c.StartRun(ctx)
	if got := ids(); len(got) != 1 || got[0] != inCurrent.ID() {
		t.Errorf("after SetExperiment: %v, want run %s of %s", got, inCurrent.ID(), exp.ID)
	}
	c2, err := mlrun.Open(ctx, mlrun.WithStore(c.Store()))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MLFLOW_EXPERIMENT_NAME", "current")
	page, err := c2.SearchRuns(ctx, store.RunQuery{})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].Info.RunID != inCurrent.ID() {
		t.Errorf("MLFLOW_EXPERIMENT_NAME: %+v, %v", page, err)
	}
	t.Setenv("MLFLOW_EXPERIMENT_NAME", "")
	t.Setenv("MLFLOW_EXPERIMENT_ID", "0")
	page, err = c2.SearchRuns(ctx, store.RunQuery{})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].Info.RunID != inDefault.ID() {
		t.Errorf("MLFLOW_EXPERIMENT_ID: %+v, %v", page, err)
	}
	page, err = c2.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{exp.ID, "0"}})
	if err != nil || len(page.Runs) != 2 {
		t.Errorf("explicit ids: %+v, %v", page, err)
	}
}

// TestSetExperimentOptions: SetExperiment creates a missing experiment
// with CreateExperiment's options, and leaves an existing one unchanged
// (mlflow.set_experiment does not change it), though its options are still
// checked.
func TestSetExperimentOptions(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	loc, err := fileuri.FromPath(filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := c.SetExperiment(ctx, "sweep", mlrun.WithExperimentTags(map[string]string{"team": "go"}),
		mlrun.WithArtifactLocation(loc), mlrun.WithExperimentDescription("the sweep"))
	if err != nil {
		t.Fatal(err)
	}
	if exp.ArtifactLocation != loc || exp.Tags["team"] != "go" || exp.Tags[mlrun.TagNote] != "the sweep" {
		t.Errorf("created %+v", exp)
	}
	again, err := c.SetExperiment(ctx, "sweep", mlrun.WithExperimentTags(map[string]string{"team": "python"}),
		mlrun.WithExperimentDescription("changed"))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != exp.ID || again.Tags["team"] != "go" || again.Tags[mlrun.TagNote] != "the sweep" {
		t.Errorf("existing experiment changed: %+v", again)
	}
	if _, err := c.SetExperiment(ctx, "sweep", mlrun.WithArtifactLocation("")); err == nil {
		t.Error("an invalid option was accepted for an existing experiment")
	}
	if _, err := c.SetExperiment(ctx, "other", mlrun.WithExperimentTags(map[string]string{"bad key!": "v"})); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("bad tag key: %v", err)
	}
	if _, err := c.GetExperimentByName(ctx, "other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused SetExperiment created the experiment: %v", err)
	}
	run, err := c.StartRun(ctx)
	if err != nil || run.ExperimentID() != exp.ID {
		t.Fatalf("run in %s (%v), want %s", run.ExperimentID(), err, exp.ID)
	}
	if !strings.HasPrefix(run.ArtifactURI(), loc+"/") {
		t.Errorf("run artifacts at %s, want under %s", run.ArtifactURI(), loc)
	}
}

// TestArtifactRoot: WithArtifactRoot puts a SQLite store's artifacts under
// root, whatever the current directory; without it, they go where MLflow
// 3.17.2's client puts them (TestDefaultArtifactRootMatchesMLflow checks
// MLflow): $_MLFLOW_SERVER_ARTIFACT_ROOT, else ./mlruns of the current
// directory.
func TestArtifactRoot(t *testing.T) {
	ctx := context.Background()
	t.Setenv(mlrun.EnvServerArtifactRoot, "")
	os.Unsetenv(mlrun.EnvServerArtifactRoot)
	work := t.TempDir()
	t.Chdir(work)
	db := filepath.Join(t.TempDir(), "mlflow.db")
	root := filepath.Join(t.TempDir(), "artifacts")
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI("sqlite:///"+db), mlrun.WithArtifactRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exp, err := c.SetExperiment(ctx, "e")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, exp.ID); exp.ArtifactLocation != want {
		t.Errorf("experiment location %s, want %s", exp.ArtifactLocation, want)
	}
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.LogText(ctx, "x", "x.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, exp.ID, run.ID(), "artifacts", "x.txt")); err != nil {
		t.Errorf("artifact not under the root: %v", err)
	}
	def, err := c.GetExperiment(ctx, store.DefaultExperimentID)
	if err != nil || def.ArtifactLocation != filepath.Join(root, "0") {
		t.Errorf("Default experiment of a new database at %v (%v), want %s", def.ArtifactLocation, err, filepath.Join(root, "0"))
	}
	if _, err := os.Stat(filepath.Join(work, "mlruns")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("./mlruns was created: %v", err)
	}

	// The defaults: ./mlruns of the current directory, or the variable.
	for _, tc := range []struct {
		env, version, want string
	}{
		{"", "", filepath.Join(work, "mlruns")},
		{filepath.Join(work, "server-root"), "", filepath.Join(work, "server-root")},
		{filepath.Join(work, "server-root"), "2.22.5", filepath.Join(work, "mlruns")}, // MLflow 2 ignores it
	} {
		t.Setenv(mlrun.EnvServerArtifactRoot, tc.env)
		opts := []mlrun.Option{mlrun.WithTrackingURI("sqlite:///" + filepath.Join(t.TempDir(), "m.db"))}
		if tc.version != "" {
			opts = append(opts, mlrun.WithMLflowVersion(tc.version))
		}
		dc, err := mlrun.Open(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		e, err := dc.CreateExperiment(ctx, "e")
		dc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(tc.want, e.ID); e.ArtifactLocation != want {
			t.Errorf("env %q, version %q: location %s, want %s", tc.env, tc.version, e.ArtifactLocation, want)
		}
	}

	for what, opts := range map[string][]mlrun.Option{
		"file store": {mlrun.WithTrackingURI(filepath.Join(t.TempDir(), "mlruns")), mlrun.WithArtifactRoot(root)},
		"WithStore":  {mlrun.WithStore(c.Store()), mlrun.WithArtifactRoot(root)},
		"s3":         {mlrun.WithTrackingURI("sqlite:///" + db), mlrun.WithArtifactRoot("s3://bucket/x")},
		"empty":      {mlrun.WithTrackingURI("sqlite:///" + db), mlrun.WithArtifactRoot("")},
	} {
		if oc, err := mlrun.Open(ctx, opts...); err == nil {
			oc.Close()
			t.Errorf("%s: WithArtifactRoot accepted", what)
		}
	}
}
