package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/atomicfile"
	"github.com/mlrun-go/mlrun/internal/filelock"
	"github.com/mlrun-go/mlrun/store"
)

func newRun(t *testing.T, s *Store, name string) *store.Run {
	t.Helper()
	r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: "0", UserID: "u", RunName: name})
	mustNil(t, err, "CreateRun")
	return r
}

func readRaw(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	mustNil(t, err, "read")
	return string(b)
}

// TestRunNameTag checks MLflow's synchronization of the mlflow.runName tag
// and the run_name in meta.yaml, both ways.
func TestRunNameTag(t *testing.T) {
	s := openStore(t, nil)
	r := newRun(t, s, "first")
	meta := filepath.Join(s.Root(), "0", r.Info.RunID, metaFile)
	mustNil(t, s.LogBatch(bg, r.Info.RunID, nil, nil, []store.Tag{{Key: "mlflow.runName", Value: "second"}}), "LogBatch")
	if !strings.Contains(readRaw(t, meta), "\nrun_name: second\n") {
		t.Errorf("meta.yaml after tagging:\n%s", readRaw(t, meta))
	}
	_, err := s.UpdateRun(bg, r.Info.RunID, store.RunUpdate{RunName: "third"})
	mustNil(t, err, "UpdateRun")
	if got := readRaw(t, filepath.Join(s.Root(), "0", r.Info.RunID, tagsDir, "mlflow.runName")); got != "third" {
		t.Errorf("tag file = %q", got)
	}
	// An empty run_name in meta.yaml falls back to the tag.
	mustNil(t, os.WriteFile(meta, []byte(strings.Replace(readRaw(t, meta), "run_name: third", "run_name: ''", 1)), 0o666), "edit")
	got, err := s.GetRun(bg, r.Info.RunID)
	mustNil(t, err, "GetRun")
	if got.Info.RunName != "third" {
		t.Errorf("run name = %q, want the tag's", got.Info.RunName)
	}
}

// TestDeletedTimeKey checks when meta.yaml carries deleted_time, as MLflow
// writes it: null at creation, the time while deleted, absent otherwise.
func TestDeletedTimeKey(t *testing.T) {
	s := openStore(t, nil)
	r := newRun(t, s, "r")
	meta := filepath.Join(s.Root(), "0", r.Info.RunID, metaFile)
	if !strings.Contains(readRaw(t, meta), "\ndeleted_time: null\n") {
		t.Errorf("new run:\n%s", readRaw(t, meta))
	}
	mustNil(t, s.DeleteRun(bg, r.Info.RunID), "DeleteRun")
	got, _ := s.GetRun(bg, r.Info.RunID)
	if got.Info.DeletedTime == nil || !strings.Contains(readRaw(t, meta), fmt.Sprintf("\ndeleted_time: %d\n", *got.Info.DeletedTime)) {
		t.Errorf("deleted run:\n%s", readRaw(t, meta))
	}
	mustNil(t, s.RestoreRun(bg, r.Info.RunID), "RestoreRun")
	if strings.Contains(readRaw(t, meta), "deleted_time") {
		t.Errorf("restored run:\n%s", readRaw(t, meta))
	}
}

// TestMetricFilesNeverEmpty creates many metric files from several
// goroutines, several of them racing on each new key, while a scanner
// reads every metric file: none may ever be seen empty, and no point may
// be lost.
func TestMetricFilesNeverEmpty(t *testing.T) {
	s := openStore(t, &Options{NoSync: true})
	r := newRun(t, s, "r")
	dir := filepath.Join(s.Root(), "0", r.Info.RunID, metricsDir)
	stop := make(chan struct{})
	var empty atomic.Int64
	var scans atomic.Int64
	var scanner sync.WaitGroup
	scanner.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if b, err := os.ReadFile(p); err == nil && len(b) == 0 {
						empty.Add(1)
					}
				}
				return nil
			})
			scans.Add(1)
		}
	})
	const keys, writers = 200, 4
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for k := range keys {
				m := store.Metric{Key: fmt.Sprintf("k%d/m", k), Value: float64(w), Timestamp: int64(k), Step: int64(w)}
				if err := s.LogBatch(bg, r.Info.RunID, []store.Metric{m}, nil, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	scanner.Wait()
	if n := empty.Load(); n > 0 {
		t.Errorf("saw an empty metric file %d times", n)
	}
	for k := range keys {
		h, err := s.GetMetricHistory(bg, r.Info.RunID, fmt.Sprintf("k%d/m", k))
		mustNil(t, err, "history")
		if len(h) != writers {
			t.Fatalf("key %d: %d points, want %d", k, len(h), writers)
		}
	}
	checkLayout(t, s.Root())
	t.Logf("%d scans", scans.Load())
}

// TestConcurrentRunUpdates has goroutines change different fields of one
// run's meta.yaml at the same moment: with the run lock, none is lost.
func TestConcurrentRunUpdates(t *testing.T) {
	s := openStore(t, &Options{NoSync: true})
	for round := range 30 {
		r := newRun(t, s, "r")
		end := int64(1000 + round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, u := range []store.RunUpdate{{Status: store.StatusFinished}, {EndTime: &end}, {RunName: "renamed"}} {
			wg.Go(func() {
				<-start
				if _, err := s.UpdateRun(bg, r.Info.RunID, u); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Go(func() {
			<-start
			mustNil(t, s.LogBatch(bg, r.Info.RunID, nil, nil, []store.Tag{{Key: "x", Value: "y"}}), "tag")
		})
		close(start)
		wg.Wait()
		got, err := s.GetRun(bg, r.Info.RunID)
		mustNil(t, err, "GetRun")
		if got.Info.Status != store.StatusFinished || got.Info.EndTime == nil || *got.Info.EndTime != end || got.Info.RunName != "renamed" {
			t.Fatalf("round %d: lost update: %+v", round, got.Info)
		}
	}
}

// TestLockTimeout holds a run's lock file from outside the store: writes
// that need it fail with ErrLocked after Options.LockTimeout, writes that
// don't (metrics) go through.
func TestLockTimeout(t *testing.T) {
	s := openStore(t, &Options{LockTimeout: 100 * time.Millisecond})
	r := newRun(t, s, "r")
	unlock, err := filelock.Mutex{Path: filepath.Join(s.Root(), "0", r.Info.RunID, runLockFile)}.Lock(bg)
	mustNil(t, err, "lock")
	_, err = s.UpdateRun(bg, r.Info.RunID, store.RunUpdate{Status: store.StatusFinished})
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("UpdateRun under a held lock: %v", err)
	}
	if err := s.LogBatch(bg, r.Info.RunID, nil, []store.Param{{Key: "p", Value: "1"}}, nil); !errors.Is(err, store.ErrLocked) {
		t.Errorf("param under a held lock: %v", err)
	}
	mustNil(t, s.LogBatch(bg, r.Info.RunID, []store.Metric{{Key: "m", Value: 1}}, nil, nil), "metric under a held lock")
	unlock()
	_, err = s.UpdateRun(bg, r.Info.RunID, store.RunUpdate{Status: store.StatusFinished})
	mustNil(t, err, "UpdateRun after unlock")
	// The root lock, likewise.
	unlock, err = filelock.Mutex{Path: filepath.Join(s.Root(), rootLockFile)}.Lock(bg)
	mustNil(t, err, "lock root")
	if _, err := s.CreateExperiment(bg, "x", "", nil); !errors.Is(err, store.ErrLocked) {
		t.Errorf("CreateExperiment under a held root lock: %v", err)
	}
	unlock()
}

func TestCanceledContext(t *testing.T) {
	s := openStore(t, nil)
	r := newRun(t, s, "r")
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "m", Value: 1}}, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("LogBatch: %v", err)
	}
	if _, err := s.CreateExperiment(ctx, "x", "", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateExperiment: %v", err)
	}
	if _, err := Open(ctx, t.TempDir(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Open: %v", err)
	}
}

// TestSweep leaves temporary files as crashed writers would, and checks
// that Open removes the stale ones and keeps young ones.
func TestSweep(t *testing.T) {
	s := openStore(t, nil)
	r := newRun(t, s, "r")
	root := s.Root()
	mustNil(t, s.Close(), "Close")
	old := time.Now().Add(-2 * time.Hour)
	deadPID := "4194305" // above Linux's pid_max limit
	var stale, fresh []string
	for _, dir := range []string{root, filepath.Join(root, "0"), filepath.Join(root, "0", r.Info.RunID), filepath.Join(root, stagingDir)} {
		p := filepath.Join(dir, ".meta.yaml.tmp-"+deadPID+"-0123456789abcdef")
		mustNil(t, os.WriteFile(p, []byte("x"), 0o666), "write")
		mustNil(t, os.Chtimes(p, old, old), "chtimes")
		stale = append(stale, p)
		q := filepath.Join(dir, atomicfile.TempName("meta.yaml"))
		mustNil(t, os.WriteFile(q, []byte("x"), 0o666), "write")
		fresh = append(fresh, q)
	}
	d := filepath.Join(root, stagingDir, ".run.tmp-"+deadPID+"-0123456789abcdef")
	mustNil(t, os.MkdirAll(filepath.Join(d, "metrics"), 0o777), "mkdir")
	mustNil(t, os.Chtimes(d, old, old), "chtimes")
	stale = append(stale, d)
	openAt(t, root, nil)
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("stale %s kept", p)
		}
	}
	for _, p := range fresh {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("fresh %s removed", p)
		}
	}
}

// TestForeignDirs checks that folders MLflow ignores in an experiment
// directory (artifact folders without meta.yaml, MLflow 3's reserved
// folders) do not disturb searches, and that a run directory whose
// meta.yaml names another run is skipped.
func TestForeignDirs(t *testing.T) {
	s := openStore(t, nil)
	r := newRun(t, s, "r")
	exp := filepath.Join(s.Root(), "0")
	for _, d := range []string{"not-a-run", "traces/tr-1", "models/m-1", ".hidden"} {
		mustNil(t, os.MkdirAll(filepath.Join(exp, d), 0o777), "mkdir")
	}
	// A copy of the run under another name.
	copyDir := filepath.Join(exp, "0123456789abcdef0123456789abcdef")
	mustNil(t, os.CopyFS(copyDir, os.DirFS(filepath.Join(exp, r.Info.RunID))), "copy")
	p, err := s.SearchRuns(bg, store.RunQuery{ExperimentIDs: []string{"0"}, ViewType: store.AllViews})
	mustNil(t, err, "SearchRuns")
	if len(p.Runs) != 1 || p.Runs[0].Info.RunID != r.Info.RunID {
		t.Errorf("runs = %v", p.Runs)
	}
	if _, err := s.GetRun(bg, "0123456789abcdef0123456789abcdef"); !errors.Is(err, store.ErrInvalidState) {
		t.Errorf("GetRun of a run dir recording another run id: %v", err)
	}
}

// TestArtifactLocations checks the file URIs fsstore makes, including
// characters Python's pathlib percent-encodes.
func TestArtifactLocations(t *testing.T) {
	root := filepath.Join(t.TempDir(), "my runs+ü")
	s := openAt(t, root, nil)
	e, err := s.GetExperiment(bg, "0")
	mustNil(t, err, "GetExperiment")
	want := "file://" + filepath.ToSlash(filepath.Dir(root)) + "/my%20runs%2B%C3%BC/0"
	if e.ArtifactLocation != want {
		t.Errorf("artifact location = %q, want %q", e.ArtifactLocation, want)
	}
	r := newRun(t, s, "r")
	if r.Info.ArtifactURI != want+"/"+r.Info.RunID+"/artifacts" {
		t.Errorf("artifact URI = %q", r.Info.ArtifactURI)
	}
	for loc, want := range map[string]string{
		"s3://b/p?x=1": "s3://b/p?x=1",
		"/abs/path":    "/abs/path",
	} {
		id, err := s.CreateExperiment(bg, "loc "+loc, loc, nil)
		mustNil(t, err, "CreateExperiment")
		e, _ := s.GetExperiment(bg, id)
		if e.ArtifactLocation != want {
			t.Errorf("artifact location %q stored as %q", loc, e.ArtifactLocation)
		}
	}
	if got := appendToURIPath("s3://b/p?x=1", "r", "artifacts"); got != "s3://b/p/r/artifacts?x=1" {
		t.Errorf("appendToURIPath = %q", got)
	}
}
