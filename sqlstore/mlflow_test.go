package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// harmless lists the warnings MLflow emits while reading a correct SQLite
// store, each with the reason it is not a sign of an incompatibility. Any
// other warning fails the tests.
var harmless = []struct {
	pattern *regexp.Regexp
	reason  string
}{
	{
		regexp.MustCompile(`^import: PydanticDeprecatedSince2\d*: (Using ` + "`@model_validator`" + ` with mode='after' on a classmethod is deprecated|Support for class-based ` + "`config`" + ` is deprecated)`),
		"emitted by `import mlflow` 2.22.5 (its own pydantic models under pydantic 2.12+), before any store is opened",
	},
	{
		regexp.MustCompile("SADeprecationWarning: The ``noload`` loader strategy is deprecated"),
		"SQLAlchemy 2.1 deprecates a query option of MLflow 3's own SqlAlchemyStore; emitted for any sqlite:// store",
	},
	{
		regexp.MustCompile(`StarletteDeprecationWarning: starlette\.middleware\.wsgi is deprecated`),
		"mlflow server 3.x imports a deprecated Starlette module at start-up",
	},
}

// requireMLflow returns the virtualenv of MLflow version for the compat
// helpers. A missing or unusable virtualenv skips the test, or fails it
// when MLRUN_REQUIRE_MLFLOW=1 (mlflowtest.Python checks that it imports
// that MLflow version).
func requireMLflow(t testing.TB, version string) *compat.MLflow {
	t.Helper()
	py := mlflowtest.Python(t, version)
	return &compat.MLflow{Version: version, Venv: filepath.Dir(filepath.Dir(py))}
}

// unexpected returns the warnings that are not known to be harmless.
func unexpected(warnings []string) []string {
	var out []string
next:
	for _, w := range warnings {
		for _, h := range harmless {
			if h.pattern.MatchString(w) {
				continue next
			}
		}
		out = append(out, w)
	}
	return out
}

// problemLine matches a line of MLflow's server log that reports a problem.
var problemLine = regexp.MustCompile(`(?i)warn|error|traceback|exception|critical`)

// serverProblems returns the lines of a server log that report problems,
// less the harmless warnings.
func serverProblems(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if problemLine.MatchString(l) && len(unexpected([]string{l})) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// goDump dumps a store in the canonical format of package compat.
func goDump(t *testing.T, s store.Store) *compat.Snapshot {
	t.Helper()
	snap, err := compat.Dump(ctx, s, nil)
	must(t, err)
	if len(snap.Errors) > 0 {
		t.Errorf("Go dump errors: %q", snap.Errors)
	}
	return snap
}

// wantSame fails with the differences between two dumps.
func wantSame(t *testing.T, what string, want, got *compat.Snapshot) {
	t.Helper()
	diffs := compat.Compare(want, got)
	if len(diffs) > 40 {
		diffs = append(diffs[:40], "…")
	}
	if len(diffs) > 0 {
		t.Errorf("%s: %d differences (want = Go, got = MLflow):\n  %s", what, len(diffs), strings.Join(diffs, "\n  "))
	}
	if len(got.Errors) > 0 {
		t.Errorf("%s: read errors: %q", what, got.Errors)
	}
	if w := unexpected(got.Warnings); len(w) > 0 {
		t.Errorf("%s: unexpected warnings: %q", what, w)
	}
}

// TestMLflowReadsGoStore writes a rich store with mlrun, for each MLflow
// version, and checks that MLflow reads exactly what mlrun reads:
// MlflowClient while the Go store is open (the database in WAL mode) and
// after it is closed, and `mlflow server`'s REST API (runs/search,
// metrics/get-history, runs/get, experiments/search).
func TestMLflowReadsGoStore(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel() // the versions' Python processes overlap
			m := requireMLflow(t, v)
			path := filepath.Join(t.TempDir(), "mlflow.db")
			s, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: v, ArtifactRoot: t.TempDir()})
			must(t, err)
			defer s.Close()
			writeRich(t, s)
			want := goDump(t, s)
			uri := "sqlite:///" + path

			t.Run("client while open", func(t *testing.T) {
				wantSame(t, "MlflowClient", want, pyDump(t, m, uri, 0))
			})
			must(t, s.Close())
			if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
				t.Errorf("-wal file after Close: %v", err)
			}
			t.Run("client after close", func(t *testing.T) {
				wantSame(t, "MlflowClient", want, pyDump(t, m, uri, 3))
			})
			t.Run("server", func(t *testing.T) {
				srv, err := m.StartServer(ctx, uri)
				must(t, err)
				t.Cleanup(srv.Stop)
				got, err := m.DumpREST(ctx, srv.URL, &compat.PyDumpOptions{PageSize: 4})
				must(t, err)
				wantSame(t, "REST", want, got)
				if p := serverProblems(srv.Log()); len(p) > 0 {
					t.Errorf("server log problems:\n%s", strings.Join(p, "\n"))
				}
			})
			t.Run("go rereads", func(t *testing.T) {
				s2, err := sqlstore.Open(ctx, path, nil)
				must(t, err)
				defer s2.Close()
				wantSame(t, "Go after MLflow", want, goDump(t, s2))
			})
		})
	}
}

// readLoop is a Python script that reads a run's metric history and
// search_runs in a loop for a while, and fails on any error. It prints the
// number of points it saw last.
const readLoop = `
import sys, time
from mlflow import MlflowClient
from mlflow.entities import ViewType
c = MlflowClient(sys.argv[1])
run_id, deadline, n, reads = sys.argv[2], time.time() + float(sys.argv[3]), 0, 0
while time.time() < deadline:
    h = c.get_metric_history(run_id, "m")
    if len(h) < n:
        raise SystemExit(f"history shrank from {n} to {len(h)}")
    n = len(h)
    runs = c.search_runs(["0"], run_view_type=ViewType.ALL)
    reads += 1
print(n, reads)
`

// TestMLflowReadsWhileGoWrites runs MLflow readers while mlrun logs to
// the same WAL database from another goroutine: MLflow never fails and
// never sees a partial batch go backwards.
func TestMLflowReadsWhileGoWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	v := versions[len(versions)-1]
	m := requireMLflow(t, v)
	path := filepath.Join(t.TempDir(), "mlflow.db")
	s := openAt(t, path, v)
	r := createRun(t, s, "0", "live")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var logged int
	wg.Add(1)
	go func() {
		defer wg.Done()
		// About 1,000 points a second, at most 10,000: MLflow reads
		// the whole history on each loop.
		for i := 0; ctx.Err() == nil && i < 500; i++ {
			ms := make([]store.Metric, 20)
			for j := range ms {
				ms[j] = store.Metric{Key: "m", Value: float64(i*20 + j), Timestamp: int64(i), Step: int64(i*20 + j)}
			}
			if err := s.LogBatch(ctx, r.Info.RunID, ms, nil, []store.Tag{{Key: "i", Value: "x"}}); err != nil {
				if ctx.Err() == nil {
					t.Errorf("LogBatch: %v", err)
				}
				return
			}
			logged += len(ms)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	cmd := m.Command(ctx, "python", "-c", readLoop, "sqlite:///"+path, r.Info.RunID, "8")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatalf("MLflow reader failed: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Logf("MLflow saw %s (points, reads) while Go logged %d points", lines[len(lines)-1], logged)
	if p := unexpected(pythonWarnings(string(out))); len(p) > 0 {
		t.Errorf("warnings: %q", p)
	}
}

// pyDump dumps the store at uri with MlflowClient (compat's py/dump.py),
// like compat.MLflow.DumpClient but in a temporary working directory:
// MLflow 2.22.5's client creates its default artifact root ./mlruns in the
// working directory.
func pyDump(t *testing.T, m *compat.MLflow, uri string, pageSize int) *compat.Snapshot {
	t.Helper()
	dir, err := compat.Scripts()
	must(t, err)
	out := filepath.Join(t.TempDir(), "dump.json")
	args := []string{filepath.Join(dir, "dump.py"), "--tracking-uri", uri, "--out", out}
	if pageSize > 0 {
		args = append(args, "--page-size", strconv.Itoa(pageSize))
	}
	cmd := m.Command(ctx, "python", args...)
	cmd.Dir = t.TempDir()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("MLflow %s dump.py: %v\n%s", m.Version, err, b)
	}
	snap, err := compat.ReadSnapshot(out)
	must(t, err)
	return snap
}

// pythonWarnings returns the warning lines of a Python process's output.
func pythonWarnings(out string) []string {
	var w []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Warning:") {
			w = append(w, strings.TrimSpace(l[strings.Index(l, ": ")+2:]))
		}
	}
	return w
}

// mlflowExec runs a Python script with the venv of version, in a temporary
// working directory (MLflow 2.22.5's client creates ./mlruns there),
// failing the test on error, and returns its standard output.
func mlflowExec(t *testing.T, m *compat.MLflow, script string, args ...string) string {
	t.Helper()
	cmd := m.Command(ctx, "python", append([]string{"-c", script}, args...)...)
	cmd.Dir = t.TempDir()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("MLflow %s script: %v\n%s\n%s", m.Version, err, out, stderr.String())
	}
	return string(out)
}
