package fsstore

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/store"
)

// appendRaw appends data to path as a writer killed mid-line would have.
func appendRaw(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	mustNil(t, err, "open")
	_, err = f.WriteString(data)
	mustNil(t, err, "write")
	mustNil(t, f.Close(), "close")
}

// mlflowHistories returns MLflow's get_metric_history of run for each of
// keys as "ts value step" strings, for each installed MLflow version
// (keyed by its python).
func mlflowHistories(t *testing.T, root, run string, keys ...string) map[string]map[string][]string {
	t.Helper()
	const script = `
import json, os, sys, warnings
warnings.simplefilter("ignore")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
from mlflow.store.tracking.file_store import FileStore
fs = FileStore(sys.argv[1])
fs.get_run(sys.argv[2])
print(json.dumps({k: ["%d %r %d" % (m.timestamp, m.value, m.step) for m in fs.get_metric_history(sys.argv[2], k)] for k in sys.argv[3:]}))
`
	out := map[string]map[string][]string{}
	for _, py := range mlflowPythons(t) {
		cmd := exec.Command(py, append([]string{"-c", script, root, run}, keys...)...)
		cmd.Dir = t.TempDir() // MLflow 2 may create ./mlruns
		cmd.Env = append(os.Environ(), "MLFLOW_ALLOW_FILE_STORE=true")
		b, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("%s: get_metric_history: %v\n%s", py, err, stderr)
		}
		var h map[string][]string
		mustNil(t, json.Unmarshal(b, &h), "json")
		out[py] = h
	}
	return out
}

// TestTornMetricTail checks that a metric file ending with a torn line (a
// writer killed mid-append) reads without the line if it does not parse,
// and that the next append through fsstore cuts it off rather than gluing
// to it: by a fresh Store, by a Store whose cached descriptor was
// appended to by someone else, and under the run lock LogBatch holds for
// params; then that MLflow reads the whole history.
func TestTornMetricTail(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	s := openAt(t, root, nil)
	r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: "0", UserID: "torn"})
	mustNil(t, err, "CreateRun")
	run := r.Info.RunID
	point := func(i int64) []store.Metric {
		return []store.Metric{{Key: "a/m", Value: float64(i) + 0.25, Timestamp: 1714000000000 + i, Step: i}}
	}
	mustNil(t, s.LogBatch(bg, run, point(0), nil, nil), "LogBatch 0")
	mustNil(t, s.LogBatch(bg, run, point(1), nil, nil), "LogBatch 1")
	loc, err := s.locateRun(run)
	mustNil(t, err, "locateRun")
	path := metricPath(loc.dir, "a/m")
	want := "1714000000000 0.25 0\n1714000000001 1.25 1\n"
	check := func(what string) {
		t.Helper()
		if got := readFileT(t, path); got != want {
			t.Fatalf("%s: metric file\n%q\nwant\n%q", what, got, want)
		}
	}
	check("logged")

	// 1. A torn line that does not parse: readers skip it; a cached
	// descriptor notices the file grew behind its back.
	appendRaw(t, path, "17140000")
	h, err := s.GetMetricHistory(bg, run, "a/m")
	mustNil(t, err, "GetMetricHistory with a torn tail")
	if len(h) != 2 {
		t.Fatalf("history with a torn tail: %d points, want 2: %+v", len(h), h)
	}
	mustNil(t, s.LogBatch(bg, run, point(2), nil, nil), "LogBatch 2")
	want += "1714000000002 2.25 2\n"
	check("append through a cached descriptor")
	mustNil(t, s.Close(), "Close")

	// 2. A torn line that parses (a value cut short): a fresh Store cuts
	// it off before appending.
	appendRaw(t, path, "1714000000003 3.2")
	s = openAt(t, root, nil)
	mustNil(t, s.LogBatch(bg, run, point(3), nil, nil), "LogBatch 3")
	want += "1714000000003 3.25 3\n"
	check("append by a fresh Store")

	// 3. Under the run lock LogBatch takes for params (the repair must not
	// wait for that lock again).
	appendRaw(t, path, "1714000000004 4.25 ")
	mustNil(t, s.LogBatch(bg, run, point(4), []store.Param{{Key: "p", Value: "v"}}, nil), "LogBatch 4 with a param")
	want += "1714000000004 4.25 4\n"
	check("append under the run lock")

	h, err = s.GetMetricHistory(bg, run, "a/m")
	mustNil(t, err, "GetMetricHistory")
	if len(h) != 5 {
		t.Fatalf("history: %d points, want 5: %+v", len(h), h)
	}
	mustNil(t, s.Close(), "Close")

	wantPy := strings.Join([]string{
		"1714000000000 0.25 0", "1714000000001 1.25 1", "1714000000002 2.25 2",
		"1714000000003 3.25 3", "1714000000004 4.25 4",
	}, "\n")
	for py, h := range mlflowHistories(t, root, run, "a/m") {
		if got := strings.Join(h["a/m"], "\n"); got != wantPy {
			t.Errorf("%s reads history\n%s\nwant\n%s", py, got, wantPy)
		}
	}
}

// TestTornModelMetricTail checks the same repair for logged-model metric
// files.
func TestTornModelMetricTail(t *testing.T) {
	s := openStore(t, nil)
	r, err := s.CreateRun(bg, store.CreateRunRequest{UserID: "torn"})
	mustNil(t, err, "CreateRun")
	rid := r.Info.RunID
	lm, err := s.CreateLoggedModel(bg, store.CreateLoggedModelRequest{SourceRunID: rid})
	mustNil(t, err, "CreateLoggedModel")
	log := func(i int64) {
		t.Helper()
		mustNil(t, s.LogLoggedModelMetrics(bg, lm.ModelID, []store.LoggedModelMetric{{Key: "acc", Value: 0.5, Timestamp: i, Step: i, RunID: rid}}), "LogLoggedModelMetrics")
	}
	log(1)
	path := filepath.Join(s.Root(), "0", "models", lm.ModelID, "metrics", "acc")
	appendRaw(t, path, "2 0.5 2 "+rid[:7])
	if _, err := s.GetLoggedModel(bg, lm.ModelID); err != nil {
		t.Fatalf("GetLoggedModel with a torn tail: %v", err)
	}
	log(3)
	want := fmt.Sprintf("1 0.5 1 %s\n3 0.5 3 %s\n", rid, rid)
	if got := readFileT(t, path); got != want {
		t.Fatalf("model metric file\n%q\nwant\n%q", got, want)
	}
}

// TestRepairTailLiveWriter checks that repairTail leaves alone a final
// line that is being written (it ends within the pause) and cuts one that
// stays torn, and that a file whose only line is torn is cut to empty.
func TestRepairTailLiveWriter(t *testing.T) {
	dir := t.TempDir()
	open := func(name, data string) *os.File {
		path := filepath.Join(dir, name)
		mustNil(t, os.WriteFile(path, []byte(data), 0o644), "write")
		f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
		mustNil(t, err, "open")
		t.Cleanup(func() { f.Close() })
		return f
	}
	defer func(d time.Duration) { tornTailPause = d }(tornTailPause)
	tornTailPause = time.Second // ample for the writer below to finish
	f := open("live", "1 1.0 1\n2 2.")
	done := make(chan error, 1)
	go func() {
		time.Sleep(10 * time.Millisecond)
		_, err := f.WriteString("0 2\n")
		done <- err
	}()
	n, err := repairTail(bg, f)
	mustNil(t, err, "repairTail live")
	mustNil(t, <-done, "live write")
	if got, want := readFileT(t, f.Name()), "1 1.0 1\n2 2.0 2\n"; got != want || n != int64(len(want)) {
		t.Errorf("live writer: file %q size %d, want %q", got, n, want)
	}

	f = open("dead", "1 1.0 1\n2 2.")
	n, err = repairTail(bg, f)
	mustNil(t, err, "repairTail dead")
	if got, want := readFileT(t, f.Name()), "1 1.0 1\n"; got != want || n != int64(len(want)) {
		t.Errorf("dead writer: file %q size %d, want %q", got, n, want)
	}

	f = open("only", "1 1.")
	n, err = repairTail(bg, f)
	mustNil(t, err, "repairTail only line")
	if got := readFileT(t, f.Name()); got != "" || n != 0 {
		t.Errorf("only line torn: file %q size %d, want empty", got, n)
	}
}
