package mlrun_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

func TestModelLayoutSelection(t *testing.T) {
	t.Setenv(mlrun.EnvModelLayout, "")
	for _, tc := range []struct {
		env  string
		opts []mlrun.Option
		want mlrun.ModelLayout
	}{
		{"", nil, mlrun.LayoutMLflow3},
		{"", []mlrun.Option{mlrun.WithMLflowVersion("2.22.5")}, mlrun.LayoutMLflow2},
		{"", []mlrun.Option{mlrun.WithMLflowVersion("3.17.2")}, mlrun.LayoutMLflow3},
		{"", []mlrun.Option{mlrun.WithModelLayout(mlrun.LayoutMLflow2)}, mlrun.LayoutMLflow2},
		{"mlflow2", nil, mlrun.LayoutMLflow2},
		{"3", []mlrun.Option{mlrun.WithMLflowVersion("2.22.5")}, mlrun.LayoutMLflow2}, // the version wins over env
		{"2", []mlrun.Option{mlrun.WithModelLayout(mlrun.LayoutMLflow3)}, mlrun.LayoutMLflow3},
	} {
		t.Setenv(mlrun.EnvModelLayout, tc.env)
		c, _ := openTemp(t, tc.opts...)
		if got := c.ModelLayout(); got != tc.want {
			t.Errorf("env %q, %d opts: %v, want %v", tc.env, len(tc.opts), got, tc.want)
		}
	}
	// Open reads the environment once: a later change does not apply.
	t.Setenv(mlrun.EnvModelLayout, "mlflow2")
	c, _ := openTemp(t)
	t.Setenv(mlrun.EnvModelLayout, "mlflow3")
	if got := c.ModelLayout(); got != mlrun.LayoutMLflow2 {
		t.Errorf("env changed after Open: %v, want %v", got, mlrun.LayoutMLflow2)
	}
	if _, err := mlrun.Open(context.Background(), mlrun.WithMLflowVersion("x.1")); err == nil {
		t.Error("bad version accepted")
	}
}

// openSQLiteTemp opens a client on a new SQLite database of the given
// MLflow version ("" for the default).
func openSQLiteTemp(t *testing.T, version string, opts ...mlrun.Option) *mlrun.Client {
	t.Helper()
	dir := t.TempDir()
	if version != "" {
		s, err := sqlstore.Open(context.Background(), filepath.Join(dir, "mlflow.db"), &sqlstore.Options{MLflowVersion: version, ArtifactRoot: filepath.Join(dir, "mlruns")})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	c, err := mlrun.Open(context.Background(), append([]mlrun.Option{mlrun.WithTrackingURI("sqlite:///" + filepath.Join(dir, "mlflow.db"))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestModelLayoutSQLite checks that a SQLite store gets the MLflow 3 layout
// when its schema has logged models (3.17.2) and the MLflow 2 layout when
// it has not (2.22.5), whatever version the client targets.
func TestModelLayoutSQLite(t *testing.T) {
	t.Setenv(mlrun.EnvModelLayout, "")
	if got := openSQLiteTemp(t, "").ModelLayout(); got != mlrun.LayoutMLflow3 {
		t.Errorf("new SQLite store: %v, want mlflow3", got)
	}
	if got := openSQLiteTemp(t, "3.17.2").ModelLayout(); got != mlrun.LayoutMLflow3 {
		t.Errorf("3.17.2 SQLite store: %v, want mlflow3", got)
	}
	c := openSQLiteTemp(t, "2.22.5")
	if got := c.ModelLayout(); got != mlrun.LayoutMLflow2 {
		t.Errorf("2.22.5 SQLite store: %v, want mlflow2", got)
	}
	if _, err := c.LoggedModels(); !errors.Is(err, store.ErrInvalidState) {
		t.Errorf("LoggedModels on 2.22.5: %v", err)
	}
	if got := openSQLiteTemp(t, "2.22.5", mlrun.WithModelLayout(mlrun.LayoutMLflow3)).ModelLayout(); got != mlrun.LayoutMLflow2 {
		t.Errorf("2.22.5 SQLite store with LayoutMLflow3: %v, want mlflow2", got)
	}
}

// TestLogModelMLflow3 is Run.LogModel in the MLflow 3 layout end to end,
// on a file store and on a SQLite store: the logged model, its run output,
// MLmodel, registration by models:/<id> and by runs:/<run>/<name>, and URI
// resolution.
func TestLogModelMLflow3(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		c, _ := openTemp(t, mlrun.WithModelLayout(mlrun.LayoutMLflow3))
		testLogModelMLflow3(t, c, true)
	})
	t.Run("sqlite", func(t *testing.T) {
		// MLflow's SQL registry has no model_id column: versions read
		// without it.
		testLogModelMLflow3(t, openSQLiteTemp(t, "3.17.2"), false)
	})
}

func testLogModelMLflow3(t *testing.T, c *mlrun.Client, versionModelID bool) {
	ctx := context.Background()
	if c.ModelLayout() != mlrun.LayoutMLflow3 {
		t.Fatalf("layout %v", c.ModelLayout())
	}
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.LogParam(ctx, "alpha", "0.5"); err != nil {
		t.Fatal(err)
	}
	if err := run.LogMetric(ctx, "rmse", 0.25, mlrun.WithStep(2)); err != nil {
		t.Fatal(err)
	}
	lm, err := run.LogModel(ctx, "ridge", mlrun.Model{
		Flavors: map[string]map[string]any{"go_ridge": {"data": "w.json"}},
		Files:   map[string][]byte{"w.json": []byte("[1]")},
		Params:  map[string]string{"p": "1"}, Tags: map[string]string{"t": "v"}, ModelType: "regressor", Step: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if lm.URI != "models:/"+lm.ModelID || lm.ModelUUID != lm.ModelID || !strings.HasSuffix(lm.ArtifactPath, "/models/"+lm.ModelID+"/artifacts") {
		t.Errorf("logged %+v", lm)
	}
	b, err := os.ReadFile(filepath.Join(lm.LocalPath, "MLmodel"))
	if err != nil || !strings.Contains(string(b), "model_id: "+lm.ModelID+"\n") || !strings.Contains(string(b), "mlflow_version: "+mlrun.DefaultMLflowVersion+"\n") {
		t.Errorf("MLmodel %s %v", b, err)
	}
	got, err := c.GetLoggedModel(ctx, lm.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.LoggedModelReady || got.Params["alpha"] != "0.5" || got.Params["p"] != "1" || got.Tags["t"] != "v" ||
		got.Tags[mlrun.TagUser] == "" || got.ModelType != "regressor" || got.SourceRunID != run.ID() {
		t.Errorf("logged model %+v", got)
	}
	if m, ok := got.Metric("rmse"); !ok || m.Value != 0.25 || m.RunID != run.ID() {
		t.Errorf("step metrics not copied: %+v", got.Metrics)
	}
	r, _ := run.Get(ctx)
	if _, ok := r.Tag(mlrun.LogModelHistoryTag); ok {
		t.Error("3.x layout wrote mlflow.log-model.history (MLflow 3 does not)")
	}
	outs, err := c.GetRunOutputs(ctx, run.ID())
	if err != nil || len(outs) != 1 || outs[0].ModelID != lm.ModelID || outs[0].Step != 2 {
		t.Errorf("outputs %+v %v", outs, err)
	}
	if err := run.LogModelMetric(ctx, lm.ModelID, "acc", 0.9); err != nil {
		t.Fatal(err)
	}
	if r, _ := run.Get(ctx); len(r.Data.Metrics) != 2 {
		t.Errorf("model metric not logged to the run: %+v", r.Data.Metrics)
	}
	if _, err := run.LogModel(ctx, "bad.name", mlrun.Model{Flavors: map[string]map[string]any{"f": {}}}); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("bad name: %v", err)
	}
	lm2, err := run.LogModel(ctx, "second", mlrun.Model{Flavors: map[string]map[string]any{"f": {}}, Files: map[string][]byte{"w.json": []byte("[2]")}})
	if err != nil {
		t.Fatal(err)
	}
	mv, err := c.RegisterModel(ctx, lm.URI, "reg")
	if err != nil {
		t.Fatal(err)
	}
	mv2, err := c.RegisterModel(ctx, "runs:/"+run.ID()+"/second", "reg")
	if err != nil {
		t.Fatal(err)
	}
	wantID, wantID2 := lm.ModelID, lm2.ModelID
	if !versionModelID {
		wantID, wantID2 = "", ""
	}
	if mv.ModelID != wantID || mv.Source != lm.URI || mv.RunID != run.ID() || mv.StorageLocation != got.ArtifactLocation ||
		mv2.ModelID != wantID2 || mv2.Source != lm2.URI {
		t.Errorf("versions %+v %+v", mv, mv2)
	}
	if _, err := c.RegisterModel(ctx, lm.URI, "reg"); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetLoggedModel(ctx, lm.ModelID)
	if v := got.Tags["mlflow.modelVersions"]; v != `[{"name": "reg", "version": 1}, {"name": "reg", "version": 3}]` {
		t.Errorf("mlflow.modelVersions %q", v)
	}
	for u, want := range map[string]string{lm.URI: "[1]", "models:/reg/1": "[1]", "models:/reg/2": "[2]"} {
		p, err := c.ResolveModelURI(ctx, u)
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		if b, _ := os.ReadFile(filepath.Join(p, "w.json")); string(b) != want {
			t.Errorf("%s: %q", u, b)
		}
	}
	page, err := c.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{run.ExperimentID()}, Filter: "name = 'second'"})
	if err != nil || len(page.Models) != 1 || page.Models[0].ModelID != lm2.ModelID {
		t.Errorf("search %+v %v", page, err)
	}
}
