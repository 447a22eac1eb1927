package mlrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// openTemp opens a client on a fresh mlruns directory.
func openTemp(t *testing.T, opts ...mlrun.Option) (*mlrun.Client, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mlruns")
	uri, err := fileuri.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mlrun.Open(context.Background(), append([]mlrun.Option{mlrun.WithTrackingURI(uri)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, dir
}

func TestParseTrackingURI(t *testing.T) {
	for _, tc := range []struct {
		uri     string
		backend mlrun.Backend
		path    string
	}{
		{"mlruns", mlrun.BackendFile, "mlruns"},
		{"/abs/mlruns", mlrun.BackendFile, "/abs/mlruns"},
		{"./rel/mlruns", mlrun.BackendFile, "./rel/mlruns"},
		{"file:///abs/my%20runs", mlrun.BackendFile, "/abs/my runs"},
		{"file:rel/mlruns", mlrun.BackendFile, "rel/mlruns"},
		{"sqlite:///mlflow.db", mlrun.BackendSQLite, "mlflow.db"},
		{"sqlite:////abs/mlflow.db", mlrun.BackendSQLite, "/abs/mlflow.db"},
		{"sqlite:///x.db?mode=rw", mlrun.BackendSQLite, "x.db"},
		{"SQLite:///x.db", mlrun.BackendSQLite, "x.db"},
		{"sqlite", mlrun.BackendFile, "sqlite"}, // a directory named like a scheme
		{"https", mlrun.BackendFile, "https"},
		{"http://localhost:5000", mlrun.BackendREST, "http://localhost:5000"},
	} {
		b, p, err := mlrun.ParseTrackingURI(tc.uri)
		if err != nil || b != tc.backend || p != tc.path {
			t.Errorf("ParseTrackingURI(%q) = %q, %q, %v; want %q, %q", tc.uri, b, p, err, tc.backend, tc.path)
		}
	}
	for _, bad := range []string{"sqlite://", "sqlite:///:memory:", "postgresql://x/y", "mysql+pymysql://x/y", "weird:thing", "databricks"} {
		if _, _, err := mlrun.ParseTrackingURI(bad); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("ParseTrackingURI(%q) error = %v, want ErrInvalidParameter", bad, err)
		}
	}
}

func TestResolveTrackingURIDefault(t *testing.T) {
	t.Setenv("MLFLOW_TRACKING_URI", "")
	t.Chdir(t.TempDir())
	if got := mlrun.ResolveTrackingURI(""); got != "sqlite:///mlflow.db" {
		t.Errorf("empty dir: got %q, want sqlite:///mlflow.db", got)
	}
	// An mlruns dir without an experiment does not count.
	os.MkdirAll("mlruns/.trash", 0o755)
	if got := mlrun.ResolveTrackingURI(""); got != "sqlite:///mlflow.db" {
		t.Errorf("empty mlruns: got %q, want sqlite:///mlflow.db", got)
	}
	os.MkdirAll("mlruns/0", 0o755)
	os.WriteFile("mlruns/0/meta.yaml", []byte("name: Default\n"), 0o644)
	if got := mlrun.ResolveTrackingURI(""); got != "mlruns" {
		t.Errorf("existing mlruns: got %q, want mlruns", got)
	}
	t.Setenv("MLFLOW_TRACKING_URI", "file:///elsewhere")
	if got := mlrun.ResolveTrackingURI(""); got != "file:///elsewhere" {
		t.Errorf("env: got %q", got)
	}
	if got := mlrun.ResolveTrackingURI("sqlite:///x.db"); got != "sqlite:///x.db" {
		t.Errorf("explicit: got %q", got)
	}
}

func TestStartRunTagsAndNesting(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t, mlrun.WithUser("alice"))
	exp, err := c.SetExperiment(ctx, "exp")
	if err != nil {
		t.Fatal(err)
	}
	parent, err := c.StartRun(ctx, mlrun.WithRunName("parent"), mlrun.WithDescription("the sweep"),
		mlrun.WithTags(map[string]string{"team": "go"}))
	if err != nil {
		t.Fatal(err)
	}
	child, err := c.StartRun(ctx, mlrun.WithParent(parent))
	if err != nil {
		t.Fatal(err)
	}
	if parent.ExperimentID() != exp.ID || child.ExperimentID() != exp.ID {
		t.Fatalf("runs in experiments %s, %s; want %s", parent.ExperimentID(), child.ExperimentID(), exp.ID)
	}
	pr, err := parent.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		mlrun.TagUser: "alice", mlrun.TagSourceType: "LOCAL", mlrun.TagNote: "the sweep",
		mlrun.TagRunName: "parent", "team": "go", mlrun.TagSourceName: os.Args[0],
	} {
		if got, _ := pr.Tag(k); got != want {
			t.Errorf("parent tag %s = %q, want %q", k, got, want)
		}
	}
	if pr.Info.UserID != "alice" || pr.Info.RunName != "parent" || pr.Info.Status != store.StatusRunning {
		t.Errorf("parent info = %+v", pr.Info)
	}
	cr, err := child.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cr.Tag(mlrun.TagParentRunID); got != parent.ID() {
		t.Errorf("child parent tag = %q, want %q", got, parent.ID())
	}
	if cr.Info.RunName == "" {
		t.Error("child has no generated name")
	}
	if got, _ := cr.Tag(mlrun.TagRunName); got != cr.Info.RunName {
		t.Errorf("child runName tag %q != run name %q", got, cr.Info.RunName)
	}
	// A description and an explicit note tag conflict, as in MLflow.
	_, err = c.StartRun(ctx, mlrun.WithDescription("a"), mlrun.WithTags(map[string]string{mlrun.TagNote: "b"}))
	if !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("description + note tag: err = %v, want ErrInvalidParameter", err)
	}
}

func TestGitCommitTag(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	repo := t.TempDir()
	sha := strings.Repeat("ab", 20)
	os.MkdirAll(filepath.Join(repo, ".git", "refs", "heads"), 0o755)
	os.WriteFile(filepath.Join(repo, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	os.WriteFile(filepath.Join(repo, ".git", "packed-refs"), []byte("# pack-refs with: peeled\n"+sha+" refs/heads/main\n"), 0o644)
	os.MkdirAll(filepath.Join(repo, "sub", "dir"), 0o755)
	t.Chdir(filepath.Join(repo, "sub", "dir"))
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := run.Get(ctx)
	if got, _ := r.Tag(mlrun.TagGitCommit); got != sha {
		t.Errorf("git commit tag = %q, want %q", got, sha)
	}
	t.Chdir(t.TempDir())
	run2, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := run2.Get(ctx)
	if got, ok := r2.Tag(mlrun.TagGitCommit); ok {
		t.Errorf("outside git: commit tag = %q, want none", got)
	}
}

func TestEndStatuses(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	status := func(r *mlrun.Run) store.RunStatus {
		t.Helper()
		got, err := r.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Info.EndTime == nil && got.Info.Status.Terminated() {
			t.Errorf("run %s ended without end time", r.ID())
		}
		return got.Info.Status
	}

	// Deferred End: FINISHED; calling it again changes nothing.
	var finished *mlrun.Run
	func() {
		var err error
		finished, err = c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer finished.End(ctx)
	}()
	if err := finished.End(ctx, mlrun.WithStatus(store.StatusKilled)); err != nil {
		t.Fatal(err)
	}
	if s := status(finished); s != store.StatusFinished {
		t.Errorf("deferred End: status %v, want FINISHED", s)
	}

	// A panic inside the function ends the run FAILED and keeps panicking.
	var panicked *mlrun.Run
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want boom", p)
			}
		}()
		var err error
		panicked, err = c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer panicked.End(ctx)
		panic("boom")
	}()
	if s := status(panicked); s != store.StatusFailed {
		t.Errorf("panic: status %v, want FAILED", s)
	}

	// OnError: a returned error ends the run FAILED.
	var failed *mlrun.Run
	f := func() (err error) {
		failed, err = c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer failed.End(ctx, mlrun.OnError(&err))
		return errors.New("training diverged")
	}
	if err := f(); err == nil {
		t.Fatal("want error")
	}
	if s := status(failed); s != store.StatusFailed {
		t.Errorf("OnError: status %v, want FAILED", s)
	}

	killed, _ := c.StartRun(ctx)
	if err := killed.End(ctx, mlrun.WithStatus(store.StatusKilled)); err != nil {
		t.Fatal(err)
	}
	if s := status(killed); s != store.StatusKilled {
		t.Errorf("KILLED: status %v", s)
	}
	if err := killed.LogMetric(ctx, "m", 1); !errors.Is(err, store.ErrInvalidState) {
		t.Errorf("log to ended run: err = %v, want ErrInvalidState", err)
	}
	if err := killed.LogText(ctx, "x", "x.txt"); !errors.Is(err, store.ErrInvalidState) {
		t.Errorf("artifact to ended run: err = %v, want ErrInvalidState", err)
	}
	r, _ := killed.Get(ctx)
	if len(r.Data.Metrics) != 0 {
		t.Errorf("ended run got metrics %v", r.Data.Metrics)
	}
	// The client can still tag a finished run, as MlflowClient.set_tag can.
	if err := c.SetRunTag(ctx, killed.ID(), "note", "late"); err != nil {
		t.Errorf("SetRunTag on finished run: %v", err)
	}
	// Resuming makes it RUNNING again.
	resumed, err := c.ResumeRun(ctx, killed.ID())
	if err != nil {
		t.Fatal(err)
	}
	if s := status(resumed); s != store.StatusRunning {
		t.Errorf("resumed: status %v", s)
	}
	if err := resumed.End(ctx, mlrun.WithStatus(store.StatusRunning)); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("End(RUNNING): err = %v, want ErrInvalidParameter", err)
	}
}

func TestDeletedRunRefusesLogging(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	run, _ := c.StartRun(ctx)
	if err := c.DeleteRun(ctx, run.ID()); err != nil {
		t.Fatal(err)
	}
	if err := run.LogParam(ctx, "p", 1); !errors.Is(err, store.ErrInvalidState) {
		t.Errorf("log to deleted run: err = %v, want ErrInvalidState", err)
	}
	if _, err := c.ResumeRun(ctx, run.ID()); !errors.Is(err, store.ErrInvalidState) {
		t.Errorf("resume deleted run: err = %v, want ErrInvalidState", err)
	}
	if _, err := c.StartRun(ctx, mlrun.WithParent(run)); !errors.Is(err, store.ErrInvalidState) {
		t.Errorf("child of deleted run: err = %v, want ErrInvalidState", err)
	}
}

func TestEnvironment(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	t.Setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := c.GetExperimentByName(ctx, "from-env")
	if err != nil {
		t.Fatal(err)
	}
	if run.ExperimentID() != exp.ID {
		t.Errorf("MLFLOW_EXPERIMENT_NAME: run in %s, want %s", run.ExperimentID(), exp.ID)
	}
	t.Setenv("MLFLOW_EXPERIMENT_NAME", "")
	t.Setenv("MLFLOW_EXPERIMENT_ID", exp.ID)
	run2, err := c.StartRun(ctx)
	if err != nil || run2.ExperimentID() != exp.ID {
		t.Errorf("MLFLOW_EXPERIMENT_ID: run in %v (%v), want %s", run2, err, exp.ID)
	}
	t.Setenv("MLFLOW_EXPERIMENT_ID", "123")
	if _, err := c.StartRun(ctx); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("unknown MLFLOW_EXPERIMENT_ID: err = %v", err)
	}
	t.Setenv("MLFLOW_EXPERIMENT_ID", "")

	run2.End(ctx)
	t.Setenv("MLFLOW_RUN_ID", run2.ID())
	resumed, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.ID() != run2.ID() {
		t.Errorf("MLFLOW_RUN_ID: got run %s, want %s", resumed.ID(), run2.ID())
	}
	if os.Getenv("MLFLOW_RUN_ID") != "" {
		t.Error("MLFLOW_RUN_ID not consumed")
	}
	next, _ := c.StartRun(ctx)
	if next.ID() == run2.ID() {
		t.Error("second StartRun resumed again")
	}
}

func TestLogBatchSplitsAndValidatesFirst(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	run, _ := c.StartRun(ctx)
	var ms []store.Metric
	for i := range 2500 {
		ms = append(ms, store.Metric{Key: "loss", Value: float64(i), Step: int64(i), Timestamp: 1})
	}
	var ps []store.Param
	for i := range 250 {
		ps = append(ps, store.Param{Key: "p" + strconv.Itoa(i), Value: "v"})
	}
	if err := run.LogBatch(ctx, ms, ps, nil); err != nil {
		t.Fatal(err)
	}
	h, err := c.GetMetricHistory(ctx, run.ID(), "loss")
	if err != nil || len(h) != 2500 {
		t.Fatalf("history: %d points, %v; want 2500", len(h), err)
	}
	r, _ := run.Get(ctx)
	if len(r.Data.Params) != 250 {
		t.Errorf("params: %d, want 250", len(r.Data.Params))
	}
	// One bad metric far into a big batch: nothing at all is written.
	bad := append([]store.Metric{}, ms...)
	bad[2400].Key = "../escape"
	run2, _ := c.StartRun(ctx)
	if err := run2.LogBatch(ctx, bad, nil, nil); !errors.Is(err, store.ErrInvalidParameter) {
		t.Fatalf("bad batch: err = %v", err)
	}
	if h, _ := c.GetMetricHistory(ctx, run2.ID(), "loss"); len(h) != 0 {
		t.Errorf("bad batch wrote %d points", len(h))
	}
}

func TestArtifacts(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	run, _ := c.StartRun(ctx)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "model.bin"), []byte("weights"), 0o644)
	os.MkdirAll(filepath.Join(src, "dir", "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "dir", "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(src, "dir", "sub", "b.txt"), []byte("b"), 0o644)

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(run.LogArtifact(ctx, filepath.Join(src, "model.bin"), "models/v1"))
	must(run.LogArtifacts(ctx, filepath.Join(src, "dir"), "data"))
	must(run.LogText(ctx, "héllo\n", "notes/readme.txt"))
	must(run.LogJSON(ctx, map[string]any{"a": 1, "b": []int{1, 2}}, "config.json"))
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	must(run.LogImage(ctx, img, "plots/p.png"))
	must(run.LogTable(ctx, []string{"alpha", "rmse"}, [][]any{{0.1, 1.5}}, "tables/sweep.json"))
	must(run.LogTable(ctx, []string{"alpha", "rmse"}, [][]any{{0.2, 1.2}}, "tables/sweep.json"))

	read := func(rel string) []byte {
		t.Helper()
		p, err := c.ArtifactPath(ctx, run.ID(), rel)
		must(err)
		b, err := os.ReadFile(p)
		must(err)
		return b
	}
	for rel, want := range map[string]string{
		"models/v1/model.bin": "weights", "data/a.txt": "a", "data/sub/b.txt": "b",
		"notes/readme.txt": "héllo\n", "config.json": "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}",
		"tables/sweep.json": `{"columns":["alpha","rmse"],"data":[[0.1,1.5],[0.2,1.2]]}`,
	} {
		if got := string(read(rel)); got != want {
			t.Errorf("artifact %s = %q, want %q", rel, got, want)
		}
	}
	decoded, err := png.Decode(strings.NewReader(string(read("plots/p.png"))))
	must(err)
	if r, _, _, _ := decoded.At(1, 1).RGBA(); r != 0xffff {
		t.Error("PNG pixel lost")
	}
	r, _ := run.Get(ctx)
	tag, _ := r.Tag(mlrun.TagLoggedArtifacts)
	if tag != `[{"path": "tables/sweep.json", "type": "table"}]` {
		t.Errorf("loggedArtifacts tag = %q", tag)
	}
	var list []map[string]string
	must(json.Unmarshal([]byte(tag), &list))

	top, err := c.ListArtifacts(ctx, run.ID(), "")
	must(err)
	var names []string
	for _, a := range top {
		names = append(names, a.Path)
	}
	if got := strings.Join(names, ","); got != "config.json,data,models,notes,plots,tables" {
		t.Errorf("ListArtifacts = %s", got)
	}
	sub, err := c.ListArtifacts(ctx, run.ID(), "data/sub")
	must(err)
	if len(sub) != 1 || sub[0].Path != "data/sub/b.txt" || sub[0].Size != 1 || sub[0].IsDir {
		t.Errorf("ListArtifacts(data/sub) = %+v", sub)
	}

	// Bad artifact paths are refused and write nothing.
	root, err := c.ArtifactPath(ctx, run.ID(), "")
	must(err)
	before := countFiles(t, filepath.Dir(filepath.Dir(root)))
	for _, bad := range []string{"../x", "/abs", "a/../../b", "a//b", "./a", "a/./b", `a\b`, ""} {
		if err := run.LogText(ctx, "x", bad); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("LogText(%q): err = %v, want ErrInvalidParameter", bad, err)
		}
	}
	for _, bad := range []string{"../x", "/abs", "a//b"} {
		if err := run.LogArtifact(ctx, filepath.Join(src, "model.bin"), bad); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("LogArtifact(dir %q): err = %v, want ErrInvalidParameter", bad, err)
		}
	}
	if err := run.LogTable(ctx, []string{"a"}, [][]any{{1, 2}}, "t.json"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("ragged table: err = %v", err)
	}
	if after := countFiles(t, filepath.Dir(filepath.Dir(root))); after != before {
		t.Errorf("bad input wrote files: %d before, %d after", before, after)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(string, os.DirEntry, error) error { n++; return nil })
	return n
}

func TestSetExperimentRace(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	ids := make(chan string, 16)
	for range 16 {
		go func() {
			exp, err := c.SetExperiment(ctx, "shared")
			if err != nil {
				t.Error(err)
				ids <- ""
				return
			}
			ids <- exp.ID
		}()
	}
	first := <-ids
	for range 15 {
		if id := <-ids; id != first {
			t.Errorf("SetExperiment returned %s and %s", first, id)
		}
	}
	if _, err := c.SetExperiment(ctx, ""); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("empty name: err = %v", err)
	}
}
