package reststore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/reststore"
	"github.com/mlrun-go/mlrun/reststore/internal/mlflowserver"
	"github.com/mlrun-go/mlrun/store"
)

// The environment variables of TestRESTBench.
const (
	envRESTBench       = "MLRUN_REST_BENCH"                // "1" runs the benchmark
	envRESTBenchDB     = "MLRUN_REST_BENCH_DB"             // backends: "sqlite" (default), "postgres" (MLflow 3), or both
	envRESTBenchSteps  = "MLRUN_REST_BENCH_STEPS"          // steps per key (default 10,000: 100,000 points)
	envRESTBenchRounds = "MLRUN_REST_BENCH_ROUNDS"         // rounds of the ways (default 1); the table shows medians
	envRESTBenchDSteps = "MLRUN_REST_BENCH_PY_ASYNC_STEPS" // caps the steps of way d, MLflow's unbuffered async logging
	envBenchOut        = "MLRUN_BENCH_OUT"                 // a file the tables are written to
)

// benchKeys is the number of metric keys the benchmark logs, each with
// one point per step.
const benchKeys = 10

// TestRESTBench times 100,000 metric points (10 keys x 10,000 steps) sent
// to a real `mlflow server` several ways, each into a fresh run of an
// emptied database: (a) mlrun's synchronous Run.LogBatch of 1,000 points a
// call, (b) mlrun's Run.LogMetric point by point with WithAsyncLogging
// then Flush, (c) MLflow's MlflowClient().log_batch of 1,000 points a call,
// (d) MLflow's mlflow.log_metric(..., synchronous=False) point by point
// then flush_async_logging, with MLflow's defaults (every point its own
// request), and (e) the same with MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS=1,
// which makes MLflow's queue merge points into batches (bench/py/rest.py).
// Every run is then read back through the REST store and must hold every
// point exactly once. The table (wall-clock points/s, client CPU,
// speed-ups a/c, b/e and b/d) goes to t.Log and to $MLRUN_BENCH_OUT if
// set. MLRUN_REST_BENCH_ROUNDS=n repeats the ways n times (the table
// shows medians) but d, which takes minutes and runs once;
// MLRUN_REST_BENCH_PY_ASYNC_STEPS caps the steps of d.
//
// It runs only with MLRUN_REST_BENCH=1, and then fails when MLflow is
// missing:
//
//	MLRUN_REST_BENCH=1 MLRUN_MLFLOW_VERSIONS=3.17.2 go test ./reststore/ -run '^TestRESTBench$' -v -count=1 -timeout 3h
func TestRESTBench(t *testing.T) {
	if os.Getenv(envRESTBench) != "1" {
		t.Skip("set " + envRESTBench + "=1 to run the REST benchmark")
	}
	t.Setenv(mlflowtest.EnvRequire, "1") // from here a missing MLflow fails
	steps := envInt(t, envRESTBenchSteps, 10_000)
	dSteps := min(steps, envInt(t, envRESTBenchDSteps, steps))
	rounds := envInt(t, envRESTBenchRounds, 1)
	dbs := strings.Fields(os.Getenv(envRESTBenchDB))
	if len(dbs) == 0 {
		dbs = []string{"sqlite"}
	}
	script, err := filepath.Abs(filepath.Join("..", "bench", "py", "rest.py"))
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	for _, v := range versions() {
		for _, db := range dbs {
			if db == "postgres" && !usesPostgres(v) {
				continue // the REST tests run MLflow 2 on SQLite only
			}
			t.Run(v+"/"+db, func(t *testing.T) {
				b := &restBench{t: t, version: v, db: db, script: script, steps: steps, dSteps: dSteps, times: map[string][]trial{}}
				b.srv = benchServer(t, v, db)
				b.warmUp()
				for r := range rounds {
					for _, w := range benchWays {
						if w.name == "d" && r > 0 {
							continue // minutes a time: once
						}
						b.times[w.name] = append(b.times[w.name], b.run(w))
					}
				}
				table := b.table(rounds)
				t.Log("\n" + table)
				report.WriteString(table + "\n")
			})
		}
	}
	if out := os.Getenv(envBenchOut); out != "" {
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// benchWay is one way of logging the points. They run in the order of
// benchWays, each of mlrun's next to MLflow's.
type benchWay struct {
	name, label string
	log         func(b *restBench, steps int) (runID string, tr trial)
}

var benchWays = []benchWay{
	{"a", "mlrun Run.LogBatch, 1,000 points a call", (*restBench).mlrunBatch},
	{"c", "MLflow MlflowClient().log_batch, 1,000 a call", python("batch")},
	{"b", "mlrun Run.LogMetric, WithAsyncLogging", (*restBench).mlrunAsync},
	{"e", "MLflow log_metric(synchronous=False), buffered 1 s", python("async", "MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS=1")},
	{"d", "MLflow log_metric(synchronous=False)", python("async")},
}

type trial struct {
	wall, cpu time.Duration
}

type restBench struct {
	t       *testing.T
	version string
	db      string
	script  string
	steps   int
	dSteps  int // of way d
	srv     *mlflowserver.Server
	times   map[string][]trial
}

// stepsOf returns the steps per key of a way.
func (b *restBench) stepsOf(way string) int {
	if way == "d" {
		return b.dSteps
	}
	return b.steps
}

// warmUpTime is how long warmUp logs: MLflow 3's server starts its job
// runner (huey consumers) some 15 s after it answers /health, which slows
// the requests of those seconds several times over.
const warmUpTime = 30 * time.Second

// warmUp sends batches to the new server, untimed, for warmUpTime, so that
// no way pays for the server's start.
func (b *restBench) warmUp() {
	c, run := b.mlrunClient()
	defer c.Close()
	for start := time.Now(); time.Since(start) < warmUpTime; {
		b.logBatches(run, 100)
	}
	if err := run.End(ctx); err != nil {
		b.t.Fatal(err)
	}
}

// run empties the database, logs the points one way and checks the run.
func (b *restBench) run(w benchWay) trial {
	t := b.t
	if err := b.srv.Reset(ctx); err != nil {
		t.Fatalf("reset: %v", err)
	}
	steps := b.stepsOf(w.name)
	id, tr := w.log(b, steps)
	b.verify(w.name, id, steps)
	n := benchKeys * steps
	t.Logf("%s %s: %d points in %v (%.0f points/s), client CPU %v", w.name, w.label,
		n, tr.wall.Round(time.Millisecond), float64(n)/tr.wall.Seconds(), tr.cpu.Round(time.Millisecond))
	return tr
}

func benchKeyNames() []string {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "m" + strconv.Itoa(i)
	}
	return keys
}

// value is the point of key i at step, as rest.py computes it.
func value(i, step int) float64 { return float64(i) + float64(step)/1000 }

// mlrunClient opens mlrun on the server's http:// tracking URI and starts
// a run in the Default experiment.
func (b *restBench) mlrunClient(opts ...mlrun.RunOption) (*mlrun.Client, *mlrun.Run) {
	t := b.t
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(b.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Store().(*reststore.Store); !ok {
		t.Fatalf("store %T, want the REST store", c.Store())
	}
	run, err := c.StartRun(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, run
}

func (b *restBench) mlrunBatch(steps int) (string, trial) {
	t := b.t
	c, run := b.mlrunClient()
	defer c.Close()
	start, cpu := time.Now(), cpuTime()
	b.logBatches(run, steps)
	tr := trial{time.Since(start), cpuTime() - cpu}
	if err := run.End(ctx); err != nil {
		t.Fatal(err)
	}
	return run.ID(), tr
}

// logBatches logs steps steps of every key with synchronous LogBatch
// calls of 1,000 points.
func (b *restBench) logBatches(run *mlrun.Run, steps int) {
	keys := benchKeyNames()
	batch := make([]store.Metric, 0, store.MaxMetricsPerBatch)
	for step := range steps {
		for i, k := range keys {
			batch = append(batch, store.Metric{Key: k, Value: value(i, step), Timestamp: time.Now().UnixMilli(), Step: int64(step)})
			if len(batch) == cap(batch) {
				if err := run.LogBatch(ctx, batch, nil, nil); err != nil {
					b.t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if err := run.LogBatch(ctx, batch, nil, nil); err != nil {
		b.t.Fatal(err)
	}
}

func (b *restBench) mlrunAsync(steps int) (string, trial) {
	t := b.t
	c, run := b.mlrunClient(mlrun.WithAsyncLogging())
	defer c.Close()
	keys := benchKeyNames()
	start, cpu := time.Now(), cpuTime()
	for step := range steps {
		for i, k := range keys {
			if err := run.LogMetric(ctx, k, value(i, step), mlrun.WithStep(int64(step))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := run.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	tr := trial{time.Since(start), cpuTime() - cpu}
	if err := run.End(ctx); err != nil {
		t.Fatal(err)
	}
	return run.ID(), tr
}

// python returns the way that runs bench/py/rest.py in mode (batch or
// async) with the version's python, MLflow's telemetry off and env added
// to the environment (MLflow's variables removed).
func python(mode string, env ...string) func(b *restBench, steps int) (string, trial) {
	return func(b *restBench, steps int) (string, trial) {
		t := b.t
		pctx, cancel := context.WithTimeout(ctx, 2*time.Hour)
		defer cancel()
		cmd := exec.CommandContext(pctx, mlflowtest.Python(t, b.version), b.script,
			"--uri", b.srv.URL, "--mode", mode, "--keys", strconv.Itoa(benchKeys), "--steps", strconv.Itoa(steps))
		cmd.Dir = t.TempDir()
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "MLFLOW_") && !strings.HasPrefix(kv, "PYTHONPATH=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(append(cmd.Env, "MLFLOW_DISABLE_TELEMETRY=true"), env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("rest.py --mode %s: %v\nstderr:\n%s\nstdout:\n%s", mode, err, stderr.Bytes(), stdout.Bytes())
		}
		var got struct {
			MLflow  string  `json:"mlflow"`
			RunID   string  `json:"run_id"`
			Points  int     `json:"points"`
			Seconds float64 `json:"seconds"`
			CPU     float64 `json:"cpu_seconds"`
		}
		// MLflow prints where to view the run before the JSON line.
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
			t.Fatalf("rest.py --mode %s printed %s: %v\nstderr:\n%s", mode, stdout.Bytes(), err, stderr.Bytes())
		}
		if got.MLflow != b.version || got.Points != benchKeys*steps {
			t.Fatalf("rest.py --mode %s: MLflow %s, %d points", mode, got.MLflow, got.Points)
		}
		return got.RunID, trial{seconds(got.Seconds), seconds(got.CPU)}
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// verify reads the run's history of every key back through the REST
// store: each key holds each step once with its value.
func (b *restBench) verify(way, id string, steps int) {
	t := b.t
	s, err := reststore.Open(ctx, b.srv.URL, &reststore.Options{HTTP: testHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	total := 0
	for i, k := range benchKeyNames() {
		h, err := s.GetMetricHistory(ctx, id, k)
		if err != nil {
			t.Fatalf("%s: history of %s: %v", way, k, err)
		}
		total += len(h)
		slices.SortFunc(h, func(x, y store.Metric) int { return int(x.Step - y.Step) })
		for step, m := range h {
			if m.Step != int64(step) || m.Value != value(i, step) {
				t.Fatalf("%s: run %s, %s point %d is step %d value %v, want step %d value %v",
					way, id, k, step, m.Step, m.Value, step, value(i, step))
			}
		}
	}
	if total != benchKeys*steps {
		t.Fatalf("%s: run %s holds %d points, want %d", way, id, total, benchKeys*steps)
	}
}

// table formats the medians of the rounds.
func (b *restBench) table(rounds int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "MLflow %s server (%s), %d keys x %d steps = %d points per run, median of %d round(s) (d: 1)\n",
		b.version, b.db, benchKeys, b.steps, benchKeys*b.steps, rounds)
	fmt.Fprintf(&sb, "%-2s %-52s %7s %9s %8s %12s\n", "", "way", "points", "seconds", "points/s", "client CPU s")
	rate := map[string]float64{}
	cpu := map[string]float64{} // per point
	for _, w := range benchWays {
		m := median(b.times[w.name])
		n := benchKeys * b.stepsOf(w.name)
		rate[w.name] = float64(n) / m.wall.Seconds()
		cpu[w.name] = m.cpu.Seconds() / float64(n)
		fmt.Fprintf(&sb, "%-2s %-52s %7d %9.2f %8.0f %12.2f\n", w.name, w.label, n, m.wall.Seconds(), rate[w.name], m.cpu.Seconds())
	}
	for _, p := range [][2]string{{"a", "c"}, {"b", "e"}, {"b", "d"}} {
		fmt.Fprintf(&sb, "speed-up %s/%s: %5.1fx points/s, %6.1fx less client CPU a point\n",
			p[0], p[1], rate[p[0]]/rate[p[1]], cpu[p[1]]/cpu[p[0]])
	}
	return sb.String()
}

func median(ts []trial) trial {
	w := make([]time.Duration, len(ts))
	c := make([]time.Duration, len(ts))
	for i, tr := range ts {
		w[i], c[i] = tr.wall, tr.cpu
	}
	sort.Slice(w, func(i, j int) bool { return w[i] < w[j] })
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return trial{w[len(w)/2], c[len(c)/2]}
}

// cpuTime returns the CPU time (user and system) the test process used so
// far: the Go client's cost, the server being another process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// benchServer starts an MLflow server of version on a fresh database of
// kind db (sqlite, or postgres with the artifact proxy), stopped when t
// ends.
func benchServer(t *testing.T, version, db string) *mlflowserver.Server {
	t.Helper()
	bin := mlflowBin(t, version)
	dir := t.TempDir()
	cfg := mlflowserver.Config{MLflow: bin, ArtifactsDir: filepath.Join(dir, "artifacts")}
	if err := os.MkdirAll(cfg.ArtifactsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	switch db {
	case "sqlite":
		cfg.Backend = mlflowserver.SQLiteDB{Path: filepath.Join(dir, "mlflow.db")}
	case "postgres":
		if err := checkPsycopg(bin); err != nil {
			t.Fatal(err)
		}
		pg, err := mlflowserver.StartPostgres(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pg.Stop)
		if err := pg.CreateDatabase(ctx, "mlflow"); err != nil {
			t.Fatal(err)
		}
		cfg.Backend = mlflowserver.PostgresDB{PG: pg, Name: "mlflow"}
		cfg.ServeArtifacts = true
	default:
		t.Fatalf("%s: unknown backend %q (sqlite or postgres)", envRESTBenchDB, db)
	}
	start := time.Now()
	srv, err := mlflowserver.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	t.Logf("MLflow %s server on %s (%s) started in %v", version, srv.URL, db, time.Since(start).Round(time.Millisecond))
	return srv
}
