package mlrun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
)

// Cross-process tests re-execute the test binary, which runs
// TestHelperProcess in the mode named by helperEnv with its parameters in
// MLRUN_HELPER_* variables.
const helperEnv = "MLRUN_HELPER"

// The load of the concurrency tests: enough to lose entries nearly every
// time without the locks (8 writers x 10 rows kept 12-15 of 80 rows).
const (
	writers      = 8
	rowsPerWrite = 10
)

// runWriters runs writers goroutines (or, with procs, helper processes) that
// each call work rowsPerWrite times on the same run, and fails t on the
// first error.
func runWriters(t *testing.T, work func(w, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers*rowsPerWrite)
	for w := range writers {
		wg.Go(func() {
			for i := range rowsPerWrite {
				errs <- work(w, i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

type tableFile struct {
	Columns []string `json:"columns"`
	Data    [][]any  `json:"data"`
}

func readTable(t *testing.T, c *mlrun.Client, runID, file string) tableFile {
	t.Helper()
	p, err := c.ArtifactPath(context.Background(), runID, file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var tf tableFile
	if err := json.Unmarshal(b, &tf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return tf
}

func loggedArtifacts(t *testing.T, c *mlrun.Client, runID string) []map[string]string {
	t.Helper()
	r, err := c.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := r.Tag(mlrun.TagLoggedArtifacts)
	var list []map[string]string
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		t.Fatalf("%s = %q: %v", mlrun.TagLoggedArtifacts, v, err)
	}
	return list
}

func modelHistory(t *testing.T, c *mlrun.Client, runID string) []map[string]any {
	t.Helper()
	r, err := c.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := r.Tag(mlrun.LogModelHistoryTag)
	var list []map[string]any
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		t.Fatalf("%s = %q: %v", mlrun.LogModelHistoryTag, v, err)
	}
	return list
}

// TestConcurrentLogTable has 8 goroutines append 10 rows each to one table
// of one Run: all 80 rows stay, and the table is listed once.
func TestConcurrentLogTable(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, _ := b.open(t)
		run, err := c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		runWriters(t, func(w, i int) error {
			return run.LogTable(ctx, []string{"w", "i"}, [][]any{{w, i}}, "sweep.json")
		})
		if n := len(readTable(t, c, run.ID(), "sweep.json").Data); n != writers*rowsPerWrite {
			t.Errorf("table has %d rows, want %d", n, writers*rowsPerWrite)
		}
		if l := loggedArtifacts(t, c, run.ID()); len(l) != 1 {
			t.Errorf("loggedArtifacts = %v, want one entry", l)
		}
	})
}

// TestConcurrentTables logs 9 tables at once through one Run: the
// mlflow.loggedArtifacts tag lists all 9.
func TestConcurrentTables(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, _ := b.open(t)
		run, err := c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 9 {
			wg.Go(func() {
				if err := run.LogTable(ctx, []string{"x"}, [][]any{{i}}, fmt.Sprintf("t%d.json", i)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if l := loggedArtifacts(t, c, run.ID()); len(l) != 9 {
			t.Errorf("loggedArtifacts lists %d tables, want 9: %v", len(l), l)
		}
	})
}

// TestConcurrentLogModelHistory logs 8 models at once through one Run in
// the MLflow 2 layout: mlflow.log-model.history lists all 8.
func TestConcurrentLogModelHistory(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, _ := b.open(t, mlrun.WithModelLayout(mlrun.LayoutMLflow2))
		run, err := c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				_, err := run.LogModel(ctx, fmt.Sprintf("model-%d", i), mlrun.Model{
					Flavors: map[string]map[string]any{"go_ridge": {"data": "w.json"}},
					Files:   map[string][]byte{"w.json": []byte("[1]")},
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if h := modelHistory(t, c, run.ID()); len(h) != 8 {
			t.Errorf("history lists %d models, want 8", len(h))
		}
	})
}

// helperCmd returns a command running TestHelperProcess in a child.
func helperCmd(mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v=false")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+mode), env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestHelperProcess is the body of the child processes of the
// cross-process tests; run directly, it skips.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for cross-process tests")
	}
	if err := helperMain(mode); err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fmt.Println("ok")
	os.Exit(0) // skip the testing framework's output
}

// helperMain opens the store named by MLRUN_HELPER_BACKEND and
// MLRUN_HELPER_DIR, resumes the run MLRUN_HELPER_RUN and logs to it.
func helperMain(mode string) error {
	ctx := context.Background()
	dir := os.Getenv("MLRUN_HELPER_DIR")
	opts := []mlrun.Option{mlrun.WithModelLayout(mlrun.LayoutMLflow2)}
	if os.Getenv("MLRUN_HELPER_BACKEND") == "file" {
		opts = append(opts, mlrun.WithTrackingURI(filepath.Join(dir, "mlruns")))
	} else {
		s, err := sqlstore.Open(ctx, filepath.Join(dir, "mlflow.db"), &sqlstore.Options{ArtifactRoot: filepath.Join(dir, "mlruns")})
		if err != nil {
			return err
		}
		defer s.Close()
		opts = append(opts, mlrun.WithStore(s))
	}
	c, err := mlrun.Open(ctx, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := c.ResumeRun(ctx, os.Getenv("MLRUN_HELPER_RUN"))
	if err != nil {
		return err
	}
	proc, _ := strconv.Atoi(os.Getenv("MLRUN_HELPER_PROC"))
	switch mode {
	case "log":
		for i := range rowsPerWrite {
			if err := run.LogTable(ctx, []string{"proc", "i"}, [][]any{{proc, i}}, "shared.json"); err != nil {
				return err
			}
			if err := run.LogTable(ctx, []string{"x"}, [][]any{{i}}, fmt.Sprintf("p%d-%d.json", proc, i)); err != nil {
				return err
			}
		}
		for i := range 3 {
			_, err := run.LogModel(ctx, fmt.Sprintf("m-%d-%d", proc, i), mlrun.Model{
				Flavors: map[string]map[string]any{"go_ridge": {"data": "w.json"}},
				Files:   map[string][]byte{"w.json": []byte("[1]")},
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// TestCrossProcessArtifactTags has 4 processes log to one run at once: 10
// rows each to one shared table, 10 tables each, and 3 models each (MLflow 2
// layout). Nothing is lost: 40 rows, 41 tables listed, 12 models in the
// history.
func TestCrossProcessArtifactTags(t *testing.T) {
	const procs = 4
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, dir := b.open(t)
		run, err := c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		outs := make([]string, procs)
		for p := range procs {
			cmd := helperCmd("log", "MLRUN_HELPER_BACKEND="+b.name, "MLRUN_HELPER_DIR="+dir,
				"MLRUN_HELPER_RUN="+run.ID(), "MLRUN_HELPER_PROC="+strconv.Itoa(p))
			wg.Go(func() {
				out, err := cmd.Output()
				outs[p] = strings.TrimSpace(string(out))
				if err != nil {
					outs[p] += " (" + err.Error() + ")"
				}
			})
		}
		wg.Wait()
		for p, o := range outs {
			if o != "ok" {
				t.Fatalf("process %d: %s", p, o)
			}
		}
		if n := len(readTable(t, c, run.ID(), "shared.json").Data); n != procs*rowsPerWrite {
			t.Errorf("shared table has %d rows, want %d", n, procs*rowsPerWrite)
		}
		if l := loggedArtifacts(t, c, run.ID()); len(l) != procs*rowsPerWrite+1 {
			t.Errorf("loggedArtifacts lists %d tables, want %d", len(l), procs*rowsPerWrite+1)
		}
		if h := modelHistory(t, c, run.ID()); len(h) != procs*3 {
			t.Errorf("history lists %d models, want %d", len(h), procs*3)
		}
	})
}
