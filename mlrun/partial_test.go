package mlrun_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// treeState lists every path under dir with its size, to compare a store
// before and after a call that must write nothing.
func treeState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.HasSuffix(p, ".db-wal") || strings.HasSuffix(p, ".db-shm") || strings.HasSuffix(p, ".db") {
			return nil // SQLite's files change on reads
		}
		fi, _ := d.Info()
		size := int64(0)
		if fi != nil && !d.IsDir() {
			size = fi.Size()
		}
		fmt.Fprintf(&b, "%s %d\n", strings.TrimPrefix(p, dir), size)
		return nil
	})
	return b.String()
}

// TestLogArtifactsValidatesTreeFirst: a tree with a valid a.txt and an
// invalid b\c.txt is refused whole; a.txt is not copied.
func TestLogArtifactsValidatesTreeFirst(t *testing.T) {
	ctx := context.Background()
	c, dir := openTemp(t)
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(src, `b\c.txt`), []byte("b"), 0o644)
	os.WriteFile(filepath.Join(src, strings.Repeat("n", 250)+".txt"), []byte("long"), 0o644) // 254 bytes: fine
	before := treeState(t, dir)
	err = run.LogArtifacts(ctx, src, "data")
	if !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), `b\c.txt`) {
		t.Fatalf("LogArtifacts: err = %v, want ErrInvalidParameter naming b\\c.txt", err)
	}
	if after := treeState(t, dir); after != before {
		t.Errorf("a refused LogArtifacts wrote files:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	os.Remove(filepath.Join(src, `b\c.txt`))
	if err := run.LogArtifacts(ctx, src, "data"); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListArtifacts(ctx, run.ID(), "data")
	if err != nil || len(list) != 2 {
		t.Errorf("ListArtifacts(data) = %+v, %v", list, err)
	}
}

// TestLogModelValidatesFirst: a model with an invalid flavor, or a file
// name over 255 bytes, or an invalid file name (in Files or in Dir), is refused before anything is
// written or created, in both layouts: no files, no logged model, no run
// output.
func TestLogModelValidatesFirst(t *testing.T) {
	longName := strings.Repeat("w", 256) // no file system holds such a file: only Files can name one
	badDir := t.TempDir()
	os.WriteFile(filepath.Join(badDir, "ok.bin"), []byte("ok"), 0o644)
	os.WriteFile(filepath.Join(badDir, `b\c.bin`), []byte("w"), 0o644)
	bad := map[string]mlrun.Model{
		"unencodable flavor": {Flavors: map[string]map[string]any{"go": {"fn": func() {}}}, Files: map[string][]byte{"w": []byte("w")}},
		"empty flavor name":  {Flavors: map[string]map[string]any{"": {}}, Files: map[string][]byte{"w": []byte("w")}},
		"bad metadata":       {Flavors: map[string]map[string]any{"go": {}}, Metadata: map[string]any{"c": make(chan int)}},
		"long file name":     {Flavors: map[string]map[string]any{"go": {}}, Files: map[string][]byte{"a.bin": []byte("a"), longName: []byte("w")}},
		"bad name in Dir":    {Flavors: map[string]map[string]any{"go": {}}, Dir: badDir},
		"bad file name":      {Flavors: map[string]map[string]any{"go": {}}, Files: map[string][]byte{"a.bin": []byte("a"), `x\y`: []byte("w")}},
		"MLmodel file":       {Flavors: map[string]map[string]any{"go": {}}, Files: map[string][]byte{"MLmodel": []byte("w")}},
	}
	for _, layout := range []mlrun.ModelLayout{mlrun.LayoutMLflow2, mlrun.LayoutMLflow3} {
		forBackends(t, func(t *testing.T, b backend) {
			ctx := context.Background()
			c, dir := b.open(t, mlrun.WithModelLayout(layout))
			run, err := c.StartRun(ctx)
			if err != nil {
				t.Fatal(err)
			}
			before := treeState(t, dir)
			for what, m := range bad {
				if _, err := run.LogModel(ctx, "model", m); !errors.Is(err, store.ErrInvalidParameter) {
					t.Errorf("%v %s: err = %v, want ErrInvalidParameter", layout, what, err)
				}
			}
			if after := treeState(t, dir); after != before {
				t.Errorf("%v: refused models wrote files:\nbefore:\n%s\nafter:\n%s", layout, before, after)
			}
			if layout == mlrun.LayoutMLflow3 {
				page, err := c.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{run.ExperimentID()}})
				if err != nil || len(page.Models) != 0 {
					t.Errorf("refused models created logged models: %+v, %v", page, err)
				}
				if outs, err := c.GetRunOutputs(ctx, run.ID()); err != nil || len(outs) != 0 {
					t.Errorf("refused models left run outputs: %+v, %v", outs, err)
				}
			}
			r, _ := run.Get(ctx)
			if _, ok := r.Tag(mlrun.LogModelHistoryTag); ok {
				t.Errorf("%v: refused models were recorded in the history", layout)
			}
			// The run still logs a valid model.
			if _, err := run.LogModel(ctx, "model", mlrun.Model{Flavors: map[string]map[string]any{"go": {}}, Dir: t.TempDir()}); err != nil {
				t.Errorf("%v: valid model after refusals: %v", layout, err)
			}
		})
	}
}

// TestLogModelHistoryPastTagLimit logs 40 models to one run in the MLflow
// 2 layout. From about the 38th, mlflow.log-model.history is longer than
// MLflow's 8000-character tag limit: MLflow's record_logged_model writes it
// anyway (both stores; the SQL store's truncation result is unused), and so
// does mlrun, instead of failing after writing the model.
func TestLogModelHistoryPastTagLimit(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, _ := b.open(t, mlrun.WithModelLayout(mlrun.LayoutMLflow2))
		run, err := c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		logHistoryModels(t, run, 40)
		r, _ := run.Get(ctx)
		v, _ := r.Tag(mlrun.LogModelHistoryTag)
		if len(v) <= store.MaxTagValueLength {
			t.Errorf("history is %d characters; the test needs more than %d", len(v), store.MaxTagValueLength)
		}
		if h := modelHistory(t, c, run.ID()); len(h) != 40 {
			t.Errorf("history lists %d models, want 40", len(h))
		}
	})
}

// logHistoryModels logs n models model-0... in the MLflow 2 layout.
func logHistoryModels(t *testing.T, run *mlrun.Run, n int) {
	t.Helper()
	for i := range n {
		_, err := run.LogModel(context.Background(), fmt.Sprintf("model-%d", i), mlrun.Model{
			Flavors: map[string]map[string]any{"go_ridge": {"data": "weights.json", "format": "json"}},
			Files:   map[string][]byte{"weights.json": []byte(`{"w": [1, 2]}`)},
		})
		if err != nil {
			t.Fatalf("model %d: %v", i, err)
		}
	}
}
