package compat_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// yamlLookalikes are strings that a YAML 1.1 reader would turn into another
// type unless the writer quotes them.
var yamlLookalikes = []string{"yes", "1:20", "0x1F", "2024-01-01", "", "null", "~", "012", "1e3", "''", "Off", "1_000", "<<", "=", ".inf", "-.5"}

// yamlTricky are strings a YAML emitter must quote, escape or fold to keep
// them intact: indicators, quotes, surrounding spaces, line breaks and
// other special characters, non-BMP runes, and text longer than PyYAML's
// 80-column width.
var yamlTricky = []string{
	"😀 emoji ✓", "tab\there", "key: value", "# not a comment", "- not a list", "[a, b]", "{a: b}",
	`'single' and "double"`, "trailing space ", " leading space", "line\nbreak", "two\n\nbreaks\n",
	"cr\rlf", "ls\u2028ps\u2029", "nel\u0085", "bom\ufeff", "bell\x07", "@at", "`tick", "!tag", "&anchor",
	"*alias", "|block", ">folded", "%percent", `back\slash`, "?q", "a: b # c", "---", "...",
	strings.Repeat("a long name with spaces ", 8) + "end",
	strings.Repeat("x", 120),
}

// TestMLflowReadsGoStore proves that a store written through mlrun's public
// API reads in real MLflow exactly as mlrun reads it: through MlflowClient
// (client), through `mlflow server`'s REST API (server) and, for the
// newest version, after `mlflow migrate-filestore` to SQLite (migrate).
// MLflow must also emit no warning beyond the known-harmless ones, and the
// Go store must still read the same after MLflow touched it (go-rereads).
func TestMLflowReadsGoStore(t *testing.T) {
	for _, v := range compat.Versions() {
		t.Run("mlflow-"+v, func(t *testing.T) {
			t.Parallel()
			m := compat.Require(t, v)
			ctx := context.Background()
			// A root that file:// URIs must percent-encode.
			root := filepath.Join(t.TempDir(), "dir with space ✓%", "mlruns")
			writeRichStore(t, root)

			want := goDump(t, root, nil)
			checkClean(t, "Go dump", want)
			checkGoStoreRich(t, "Go dump", want)
			// A small page size makes every reader page through the searches.
			pyOpts := &compat.PyDumpOptions{PageSize: 3}

			t.Run("client", func(t *testing.T) {
				got, err := m.DumpClient(ctx, fileURI(root), pyOpts)
				if err != nil {
					t.Fatal(err)
				}
				checkClean(t, "MlflowClient", got)
				checkGoStoreRich(t, "MlflowClient", got)
				checkSame(t, "MlflowClient "+v+" reading the Go store", want, got)
			})

			t.Run("loaders", func(t *testing.T) {
				checkLoaders(t, m, root, want)
			})

			t.Run("server", func(t *testing.T) {
				srv, err := m.StartServer(ctx, root)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(srv.Stop)
				got, err := m.DumpREST(ctx, srv.URL, pyOpts)
				if err != nil {
					t.Fatal(err)
				}
				// Read the log before stopping: shutdown logs its own noise.
				log := srv.Log()
				srv.Stop()
				checkClean(t, "REST", got)
				checkGoStoreRich(t, "REST", got)
				checkSame(t, "mlflow server "+v+" REST API on the Go store", want, got)
				for _, l := range logProblems(log) {
					t.Errorf("server log: %s", l)
				}
			})

			if v == compat.NewestVersion() {
				t.Run("migrate", func(t *testing.T) {
					db := filepath.Join(t.TempDir(), "m.db")
					out, err := m.MigrateFileStore(ctx, root, db)
					if err != nil {
						t.Fatal(err)
					}
					for _, l := range logProblems(out) {
						t.Errorf("migrate-filestore: %s", l)
					}
					got, err := m.DumpClient(ctx, "sqlite:///"+db, pyOpts)
					if err != nil {
						t.Fatal(err)
					}
					checkClean(t, "migrated SQL DB", got)
					checkGoStoreRich(t, "migrated SQL DB", got)
					checkSame(t, "migrate-filestore "+v+" of the Go store (SQL-normalised)", sqlNormalize(want), got)
				})
			}

			t.Run("go-rereads", func(t *testing.T) {
				again := goDump(t, root, nil)
				checkClean(t, "Go re-dump", again)
				checkSame(t, "Go store after MLflow read it", want, again)
			})

			// MLflow writes into the Go store (appends to a Go run, adds
			// runs, renames a Go experiment); Go must read what MLflow reads.
			t.Run("mlflow-writes", func(t *testing.T) {
				rich := want.RunByName("rich ✓")
				if err := m.MutateStore(ctx, fileURI(root), rich.ExperimentID, rich.RunID); err != nil {
					t.Fatal(err)
				}
				got := goDump(t, root, nil)
				checkClean(t, "Go dump after MLflow wrote", got)
				py, err := m.DumpClient(ctx, fileURI(root), pyOpts)
				if err != nil {
					t.Fatal(err)
				}
				checkClean(t, "MlflowClient after MLflow wrote", py)
				checkSame(t, "Go and MLflow "+v+" reading a Go store MLflow wrote into", py, got)
				checkMutated(t, got, rich.RunID, rich.ExperimentID)
				want = got // gc below starts from here
			})

			// Last, as it is destructive: mlflow gc must keep deletions
			// younger than --older-than (it reads deleted_time) and then
			// remove every deleted run and experiment, leaving a store Go
			// still reads.
			t.Run("gc", func(t *testing.T) {
				out, err := m.GC(ctx, root, fileURI(root), "--older-than", "1d")
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range logProblems(out) {
					t.Errorf("mlflow gc: %s", l)
				}
				checkSame(t, "Go store after mlflow gc --older-than 1d", want, goDump(t, root, nil))
				if out, err = m.GC(ctx, root, fileURI(root)); err != nil {
					t.Fatal(err)
				}
				for _, l := range logProblems(out) {
					t.Errorf("mlflow gc: %s", l)
				}
				got := goDump(t, root, nil)
				checkClean(t, "Go dump after gc", got)
				checkSame(t, "Go store after mlflow gc", withoutDeleted(want), got)
			})
		})
	}
}

// writeRichStore writes, through the public mlrun API, a store covering
// every entity and the values most likely to be misread.
func writeRichStore(t *testing.T, root string) {
	t.Helper()
	ctx := context.Background()
	open := func(user string) *mlrun.Client {
		c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(fileURI(root)), mlrun.WithUser(user))
		if err != nil {
			t.Fatalf("mlrun.Open: %v", err)
		}
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return c
	}
	c := open("compat-tester")
	yamlUser := open("yes") // a user_id YAML would read as a bool
	trickyUser := open("O'Brien: \"dev\" #1 ")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	start := func(c *mlrun.Client, opts ...mlrun.RunOption) *mlrun.Run {
		t.Helper()
		r, err := c.StartRun(ctx, opts...)
		must(err)
		return r
	}

	// Experiments.
	exp, err := c.CreateExperiment(ctx, "compat ünïcødé ✓", mlrun.WithExperimentTags(map[string]string{
		"team": "mlrun", "unicode": "värde 日本 ✓", "nested/key": "v", "yes": "no", "empty": "",
	}))
	must(err)
	must(c.SetExperimentTag(ctx, exp.ID, "mlflow.note.content", "An experiment *description*.\nTwo lines."))
	renamed, err := c.CreateExperiment(ctx, "compat-old-name")
	must(err)
	must(c.RenameExperiment(ctx, renamed.ID, "2024-01-01"))
	restored, err := c.CreateExperiment(ctx, "compat-restored")
	must(err)
	back := start(c, mlrun.WithExperimentID(restored.ID), mlrun.WithRunName("run-in-restored-exp"))
	must(back.End(ctx))
	must(c.DeleteExperiment(ctx, restored.ID))
	must(c.RestoreExperiment(ctx, restored.ID))
	for _, name := range []string{"null", "~", "0x1F", "1:20", "Yes", "012"} {
		_, err := c.CreateExperiment(ctx, name)
		must(err)
	}
	setExp, err := c.SetExperiment(ctx, "compat-set")
	must(err)
	again, err := c.SetExperiment(ctx, "compat-set")
	must(err)
	if again.ID != setExp.ID {
		t.Fatalf("SetExperiment created a second experiment: %s, %s", setExp.ID, again.ID)
	}
	deleted, err := c.CreateExperiment(ctx, "compat-deleted", mlrun.WithExperimentTags(map[string]string{"gone": "yes"}))
	must(err)
	gone := start(c, mlrun.WithExperimentID(deleted.ID), mlrun.WithRunName("run-in-deleted-exp"))
	must(gone.LogParam(ctx, "p", 1))
	must(gone.LogMetric(ctx, "m", 1, mlrun.WithStep(0)))
	must(gone.End(ctx))
	must(c.DeleteExperiment(ctx, deleted.ID))

	// Runs in every status, with names and users YAML would misread.
	names := yamlLookalikes
	for i, status := range []store.RunStatus{store.StatusRunning, store.StatusScheduled, store.StatusFinished, store.StatusFailed, store.StatusKilled} {
		client := c
		if i%2 == 1 {
			client = yamlUser
		}
		r := start(client, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName(names[i]))
		must(r.LogMetric(ctx, "status_index", float64(i)))
		switch status {
		case store.StatusRunning:
		case store.StatusScheduled:
			_, err := c.Store().UpdateRun(ctx, r.ID(), store.RunUpdate{Status: store.StatusScheduled})
			must(err)
		default:
			must(r.End(ctx, mlrun.WithStatus(status)))
		}
	}
	for _, name := range names[5:] {
		r := start(c, mlrun.WithExperimentID(setExp.ID), mlrun.WithRunName(name))
		must(r.SetTag(ctx, "yaml", name))
		must(r.End(ctx))
	}
	tricky, err := c.CreateExperiment(ctx, "tricky: names # here ")
	must(err)
	for i, name := range yamlTricky {
		if i < 6 {
			_, err := c.CreateExperiment(ctx, "exp "+name)
			must(err)
		}
		client := c
		if i%3 == 0 {
			client = trickyUser
		}
		r := start(client, mlrun.WithExperimentID(tricky.ID), mlrun.WithRunName(name))
		must(r.SetTag(ctx, "name", name))
		must(r.LogInput(ctx, store.Dataset{
			Name: fmt.Sprintf("ds:%d'\"#", i), Digest: fmt.Sprintf("d%d", i), SourceType: "local",
			Source:  fmt.Sprintf(`{"uri": %q}`, name),
			Schema:  `{"mlflow_colspec": [{"type": "string", "name": "a column name with spaces"}, {"type": "long", "name": "b"}]}`,
			Profile: "{\n  \"num_rows\": 3,\n  \"note\": \"✓ profile with spaces that is long enough to be folded by the emitter\"\n}",
		}, mlrun.WithInputContext(name), mlrun.WithInputTags(map[string]string{"extra": name})))
		if i%2 == 0 {
			must(r.End(ctx))
		}
	}

	// An experiment whose artifacts live outside the store.
	custom, err := c.CreateExperiment(ctx, "compat-custom-artifacts",
		mlrun.WithArtifactLocation(fileURI(filepath.Join(filepath.Dir(root), "elsewhere ✓", "artifacts"))))
	must(err)
	cr := start(c, mlrun.WithExperimentID(custom.ID), mlrun.WithRunName("custom-artifact-run"))
	must(cr.LogText(ctx, "stored elsewhere", "where/elsewhere.txt"))
	must(cr.End(ctx))

	// Renaming a run through its mlflow.runName tag and through UpdateRun.
	byTag := start(c, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName("before-tag-rename"))
	must(byTag.SetTag(ctx, "mlflow.runName", "renamed-by-tag"))
	must(byTag.End(ctx))
	byUpdate := start(c, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName("before-update-rename"))
	_, err = c.Store().UpdateRun(ctx, byUpdate.ID(), store.RunUpdate{RunName: "renamed-by-update"})
	must(err)
	must(byUpdate.End(ctx))

	// A deleted run and a deleted-then-restored one.
	d := start(c, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName("deleted-run"))
	must(d.LogParam(ctx, "p", "x"))
	must(d.End(ctx))
	must(c.DeleteRun(ctx, d.ID()))
	rr := start(c, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName("restored-run"))
	must(rr.End(ctx))
	must(c.DeleteRun(ctx, rr.ID()))
	must(c.RestoreRun(ctx, rr.ID()))

	// Nested runs, two levels.
	parent := start(c, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName("parent"))
	for k := range 2 {
		child := start(c, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName("child-"+string(rune('a'+k))), mlrun.WithParent(parent))
		must(child.LogMetric(ctx, "loss", 1/float64(k+1), mlrun.WithStep(int64(k))))
		if k == 0 {
			grand := start(c, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName("grandchild"), mlrun.WithParent(child))
			must(grand.End(ctx, mlrun.WithStatus(store.StatusKilled)))
		}
		must(child.End(ctx))
	}
	must(parent.End(ctx))

	// The rich run.
	rich := start(c, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName("rich ✓"),
		mlrun.WithDescription("run description\nwith a second line"),
		mlrun.WithTags(map[string]string{"tag/with/slash": "v", "tag_ünï": "日本 ✓", "empty": "", "yaml": "~"}))
	params := map[string]any{
		"lr":                0.001,
		"int":               42,
		"bool":              true,
		"ünïcødé_ключ 日本":   "värde ünïcødé 日本語 ✓",
		"path/to/key":       "slash",
		"key with spaces":   "value with spaces",
		"long":              strings.Repeat("0123456789abcdefghij", 300),
		"multi":             "line one\nline two\n",
		"colon: and.dots-_": "v",
	}
	for i, v := range yamlLookalikes {
		params["yaml_"+string(rune('a'+i))] = v
	}
	must(rich.LogParams(ctx, params))
	specials := map[string]float64{
		"nan": math.NaN(), "inf": math.Inf(1), "neg_inf": math.Inf(-1), "neg_zero": math.Copysign(0, -1),
		"tiny": 1e-05, "big": 1e16, "pi": math.Pi, "third": 1.0 / 3, "int_like": 3, "max": math.MaxFloat64,
		"smallest": 5e-324, "métrique/ünï code": 0.5, "sum": 0.1 + 0.2, "e22": 1e22, "neg": -1.5e-300,
		"big_int": 123456789012345678,
	}
	var batch []store.Metric
	for k, v := range specials {
		batch = append(batch, store.Metric{Key: k, Value: v, Timestamp: 1_700_000_000_500, Step: 0})
	}
	must(rich.LogBatch(ctx, batch, nil, nil))
	for step := int64(-3); step <= 3; step++ {
		must(rich.LogMetric(ctx, "loss", 1/float64(step+10), mlrun.WithStep(step), mlrun.WithTimestamp(1_700_000_000_600+step)))
	}
	// Same step and timestamp: the largest value is latest; NaN never wins.
	for _, v := range []float64{0.25, math.NaN(), 0.75, 0.5} {
		must(rich.LogMetric(ctx, "tie", v, mlrun.WithStep(1), mlrun.WithTimestamp(1_700_000_000_700)))
	}
	must(rich.LogMetric(ctx, "late_step", 2, mlrun.WithStep(5), mlrun.WithTimestamp(1_700_000_000_800)))
	must(rich.LogMetric(ctx, "late_step", 1, mlrun.WithStep(2), mlrun.WithTimestamp(1_700_000_000_900)))
	must(rich.LogMetric(ctx, "big_step", 1, mlrun.WithStep(1<<40)))
	must(rich.LogMetric(ctx, "epoch_zero", 7, mlrun.WithTimestamp(0)))
	for i := range 150 { // more than one page of history in some readers
		must(rich.LogMetric(ctx, "long_history", float64(i)/7, mlrun.WithStep(int64(i%50)), mlrun.WithTimestamp(1_700_000_001_000+int64(i))))
	}

	train := store.Dataset{
		Name: "train_data", Digest: "a1b2c3d4", SourceType: "local",
		Source:  `{"uri": "/data/train.csv"}`,
		Schema:  `{"mlflow_colspec": [{"type": "double", "name": "x"}]}`,
		Profile: `{"num_rows": 3}`,
	}
	must(rich.LogInput(ctx, train, mlrun.WithInputContext("training")))
	must(rich.LogInput(ctx, store.Dataset{Name: "eval", Digest: "ffff", SourceType: "code", Source: "{}"},
		mlrun.WithInputContext("eval"), mlrun.WithInputTags(map[string]string{"extra": "ünï"})))

	src := t.TempDir()
	writeFile := func(rel, body string) {
		p := filepath.Join(src, filepath.FromSlash(rel))
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, []byte(body), 0o644))
	}
	writeFile("model.txt", "weights\n")
	writeFile("tree/a.txt", "a")
	writeFile("tree/sub/b.bin", "\x00\x01b")
	writeFile("tree/sub/ünï.txt", "✓")
	writeFile("tree/sub/deeper/empty.txt", "")
	must(rich.LogArtifact(ctx, filepath.Join(src, "model.txt"), ""))
	must(rich.LogArtifact(ctx, filepath.Join(src, "model.txt"), "deep/er/dir"))
	must(rich.LogArtifacts(ctx, filepath.Join(src, "tree"), "tree"))
	must(rich.LogText(ctx, "hello ünïcødé ✓\n", "notes/readme.md"))
	must(rich.LogJSON(ctx, map[string]any{"a": 1, "b": []int{1, 2}, "c": map[string]any{"d": nil}}, "config/params.json"))
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for x := 1; x < 3; x++ {
		for y := 1; y < 3; y++ {
			img.Set(x, y, color.RGBA{R: 255, A: 255})
		}
	}
	must(rich.LogImage(ctx, img, "images/square.png"))
	must(rich.LogTable(ctx, []string{"x", "y"}, [][]any{{1, "a"}, {2, "b"}}, "tables/table.json"))
	must(rich.End(ctx))

	// The Default experiment, sharing a dataset with the rich run.
	other := start(c, mlrun.WithExperimentID("0"), mlrun.WithRunName("default-exp-run"))
	must(other.LogInput(ctx, train, mlrun.WithInputContext("training")))
	must(other.End(ctx, mlrun.WithStatus(store.StatusKilled)))
}

// checkGoStoreRich asserts that a dump of the rich store really holds the
// hard cases, so that an equality can't pass vacuously (say, with both
// sides missing a run). A dump of a SQL store has -0.0 as 0.0.
func checkGoStoreRich(t *testing.T, what string, s *compat.Snapshot) {
	t.Helper()
	negZero := "-0.0"
	if strings.Contains(what, "SQL") {
		negZero = "0.0"
	}
	if wantRuns := 29 + len(yamlTricky); len(s.Experiments) != 20 || len(s.Runs) != wantRuns {
		t.Errorf("%s: %d experiments and %d runs, want 20 and %d", what, len(s.Experiments), len(s.Runs), wantRuns)
	}
	// Lifecycle and naming semantics MLflow applies, checked on each reader.
	for name, stage := range map[string]string{
		"run-in-deleted-exp": store.LifecycleDeleted, "deleted-run": store.LifecycleDeleted,
		"run-in-restored-exp": store.LifecycleActive, "restored-run": store.LifecycleActive,
	} {
		if r := s.RunByName(name); r == nil || r.LifecycleStage != stage {
			t.Errorf("%s: run %q missing or not %s", what, name, stage)
		}
	}
	for _, name := range []string{"renamed-by-tag", "renamed-by-update"} {
		if r := s.RunByName(name); r == nil || r.Tags["mlflow.runName"] != name {
			t.Errorf("%s: run %q missing, or its mlflow.runName tag differs", what, name)
		}
	}
	if r := s.RunByName("custom-artifact-run"); r == nil || !strings.Contains(r.ArtifactURI, "/elsewhere%20%E2%9C%93/artifacts/") || len(r.Artifacts) != 1 {
		t.Errorf("%s: the run with a custom artifact location is missing or has no artifact", what)
	}
	for _, name := range yamlTricky {
		if name == "nel\u0085" {
			// PyYAML itself reads a U+0085 it wrote back as a space, so
			// MLflow never keeps it in meta.yaml; the comparison with
			// MLflow's dumps still covers it.
			continue
		}
		sqlCR := strings.Contains(what, "SQL") && strings.Contains(name, "\r")
		if r := s.RunByName(name); r == nil || (r.Tags["name"] != name && !sqlCR) || len(r.Inputs) != 1 || r.Inputs[0].Tags["mlflow.data.context"] != name {
			t.Errorf("%s: run named %q missing or its name, tag or input differ", what, name)
		}
	}
	rich := s.RunByName("rich ✓")
	if rich == nil {
		t.Fatalf(`%s: no run "rich ✓"`, what)
	}
	if got := rich.Params["long"]; len(got) != 6000 || !strings.HasPrefix(got, "0123456789abcdefghij") {
		t.Errorf("%s: the 6000-char param has %d chars", what, len(got))
	}
	if got := rich.Params["yaml_a"]; got != "yes" {
		t.Errorf(`%s: param yaml_a = %q, want "yes"`, what, got)
	}
	for key, want := range map[string]string{"nan": "nan", "neg_zero": negZero, "tiny": "1e-05", "tie": "0.75", "late_step": "2.0", "smallest": "5e-324"} {
		if got := rich.LatestMetrics[key]; got != want {
			t.Errorf("%s: latest metric %s = %q, want %q", what, key, got, want)
		}
	}
	if n := len(rich.Metrics["loss"]); n != 7 || rich.Metrics["loss"][0].Step != -3 {
		t.Errorf("%s: loss history has %d points (want 7, from step -3)", what, n)
	}
	if n := len(rich.Metrics["long_history"]); n != 150 {
		t.Errorf("%s: long_history has %d points, want 150", what, n)
	}
	if len(rich.Inputs) != 2 {
		t.Errorf("%s: rich run has %d dataset inputs, want 2", what, len(rich.Inputs))
	}
	for _, a := range []string{"images/square.png", "tables/table.json", "tree/sub/ünï.txt", "deep/er/dir/model.txt", "tree/sub/deeper/empty.txt"} {
		if _, ok := rich.Artifacts[a]; !ok {
			t.Errorf("%s: artifact %s missing", what, a)
		}
	}
	statuses := map[string]bool{}
	deletedRuns := 0
	for _, r := range s.Runs {
		statuses[r.Status] = true
		if r.LifecycleStage == store.LifecycleDeleted {
			deletedRuns++
		}
	}
	if len(statuses) != 5 || deletedRuns < 2 {
		t.Errorf("%s: statuses %v and %d deleted runs; want all five and ≥ 2", what, statuses, deletedRuns)
	}
	deletedExps := 0
	for _, e := range s.Experiments {
		if e.LifecycleStage == store.LifecycleDeleted {
			deletedExps++
		}
	}
	if deletedExps != 1 {
		t.Errorf("%s: %d deleted experiments, want 1", what, deletedExps)
	}
}

// checkLoaders loads the rich run's artifacts with MLflow's own loaders.
func checkLoaders(t *testing.T, m *compat.MLflow, root string, goDump *compat.Snapshot) {
	t.Helper()
	rich := goDump.RunByName("rich ✓")
	res, err := m.LoadArtifacts(context.Background(), fileURI(root), compat.LoadRequest{
		RunID: rich.RunID, Table: "tables/table.json", Dict: "config/params.json",
		Text: "notes/readme.md", Image: "images/square.png",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors {
		t.Errorf("MLflow loader failed: %s", e)
	}
	for _, w := range unexpected(res.Warnings) {
		t.Errorf("loaders: unexpected warning: %s", w)
	}
	if tb := res.Table; tb == nil {
		t.Error("load_table returned nothing")
	} else {
		if got := fmt.Sprint(tb.Columns, tb.Data); got != "[x y] [[1 a] [2 b]]" {
			t.Errorf("load_table = %s, want [x y] [[1 a] [2 b]]", got)
		}
		if len(tb.RunIDs) != 1 || tb.RunIDs[0] != rich.RunID {
			t.Errorf("load_table found the table in runs %v, want only %s", tb.RunIDs, rich.RunID)
		}
	}
	if got, want := fmt.Sprint(res.Dict), "map[a:1 b:[1 2] c:map[d:<nil>]]"; got != want {
		t.Errorf("load_dict = %s, want %s", got, want)
	}
	if res.Text == nil || *res.Text != "hello ünïcødé ✓\n" {
		t.Errorf("load_text = %v", res.Text)
	}
	if img := res.Image; img == nil {
		t.Error("load_image returned nothing")
	} else {
		if img.Size != [2]int{4, 4} {
			t.Errorf("load_image size %v, want 4x4", img.Size)
		}
		if p := img.Pixels["1,1"]; p != [4]int{255, 0, 0, 255} {
			t.Errorf("load_image pixel (1,1) = %v, want opaque red", p)
		}
		if p := img.Pixels["0,0"]; p != [4]int{0, 0, 0, 0} {
			t.Errorf("load_image pixel (0,0) = %v, want transparent", p)
		}
	}
}

// withoutDeleted returns the snapshot less its deleted experiments and
// deleted runs, as `mlflow gc` leaves a store.
func withoutDeleted(s *compat.Snapshot) *compat.Snapshot {
	out := *s
	out.Experiments, out.Runs = nil, nil
	for _, e := range s.Experiments {
		if e.LifecycleStage != store.LifecycleDeleted {
			out.Experiments = append(out.Experiments, e)
		}
	}
	for _, r := range s.Runs {
		if r.LifecycleStage != store.LifecycleDeleted {
			out.Runs = append(out.Runs, r)
		}
	}
	return &out
}

// checkMutated asserts that Go sees what py/mutate.py wrote.
func checkMutated(t *testing.T, s *compat.Snapshot, runID, expID string) {
	t.Helper()
	r := s.Run(runID)
	if r == nil || r.Params["added_by_python"] != "ünï ✓" || r.Tags["python/tag"] != "yes" ||
		r.LatestMetrics["loss"] != "0.001" || r.LatestMetrics["python_nan"] != "nan" {
		t.Errorf("Go does not see MLflow's writes to run %s", runID)
	}
	n := s.RunByName("written by MLflow: ✓")
	if n == nil || n.Status != "FAILED" || n.UserID != "~" || n.LatestMetrics["m"] != "-0.0" || n.Params["p"] != "null" || len(n.Artifacts) != 1 {
		t.Errorf("Go does not see the run MLflow created: %+v", n)
	}
	if d := s.RunByName("deleted by MLflow"); d == nil || d.LifecycleStage != store.LifecycleDeleted {
		t.Errorf("Go does not see the run MLflow deleted")
	}
	if e := s.Experiment(expID); e == nil || !strings.HasSuffix(e.Name, " (renamed by MLflow)") || e.Tags["python"] != "1:20" {
		t.Errorf("Go does not see MLflow's rename and tag of experiment %s", expID)
	}
}
