package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// Environment of the writer processes of TestManyWriters and
// TestMultiProcessThroughput.
const envWriter = "SQLSTORE_TEST_WRITER" // path|runID|proc|goroutines|points|maxBatch

// writerSize returns the size of the many-writers test: processes,
// goroutines per process and points per goroutine, 8 × 4 × 5,000 by
// default (8 × 4 × 500 with -race, 4 × 2 × 500 with -short), overridden by
// SQLSTORE_WRITERS="procs,goroutines,points".
func writerSize(t *testing.T) (procs, goroutines, points int) {
	procs, goroutines, points = 8, 4, 5000
	if raceEnabled {
		points = 500
	}
	if testing.Short() {
		procs, goroutines, points = 4, 2, 500
	}
	if s := os.Getenv("SQLSTORE_WRITERS"); s != "" {
		if _, err := fmt.Sscanf(s, "%d,%d,%d", &procs, &goroutines, &points); err != nil {
			t.Fatalf("SQLSTORE_WRITERS=%q: want procs,goroutines,points", s)
		}
	}
	return procs, goroutines, points
}

// metricKeys is how many keys the writers share.
const metricKeys = 4

// writerPoint returns point i of writer w (of points each): all writers
// log to the same metricKeys keys, with steps unique across writers.
func writerPoint(w, i, points int) store.Metric {
	step := int64(w*points + i)
	return store.Metric{Key: fmt.Sprintf("k%d", i%metricKeys), Value: float64(step) / 4, Timestamp: int64(i), Step: step}
}

// runWriters starts procs processes of this test binary, each logging
// with goroutines goroutines to run runID, and waits for them. It returns
// the elapsed time.
func runWriters(t *testing.T, path, runID string, procs, goroutines, points, maxBatch int) time.Duration {
	t.Helper()
	exe, err := os.Executable()
	must(t, err)
	var wg sync.WaitGroup
	errs := make([]error, procs)
	outs := make([]bytes.Buffer, procs)
	ready := make(chan struct{})
	for p := range procs {
		cmd := exec.Command(exe, "-test.run=^"+t.Name()+"$", "-test.v")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d|%d|%d|%d", envWriter, path, runID, p, goroutines, points, maxBatch))
		cmd.Stdout, cmd.Stderr = &outs[p], &outs[p]
		wg.Go(func() {
			<-ready
			errs[p] = cmd.Run()
		})
	}
	start := time.Now()
	close(ready)
	wg.Wait()
	elapsed := time.Since(start)
	for p, err := range errs {
		if err != nil || strings.Contains(outs[p].String(), "--- FAIL") {
			t.Errorf("writer process %d: %v\n%s", p, err, outs[p].String())
		}
	}
	return elapsed
}

// writerChild is the body of a writer process: goroutines goroutines each
// log their points in batches of 1 to maxBatch points (seeded), with
// params (new ones, and one every writer logs with the same value) and
// tags (only metrics with fixed batches: maxBatch < 0). Any error fails
// the process.
func writerChild(t *testing.T, spec string) {
	parts := strings.Split(spec, "|")
	path, runID := parts[0], parts[1]
	proc, _ := strconv.Atoi(parts[2])
	goroutines, _ := strconv.Atoi(parts[3])
	points, _ := strconv.Atoi(parts[4])
	maxBatch, _ := strconv.Atoi(parts[5])
	s, err := sqlstore.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for g := range goroutines {
		w := proc*goroutines + g
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i, b := 0, 0; i < points; b++ {
				n := min(points-i, 1+rng.IntN(max(maxBatch, 1)))
				if maxBatch < 0 { // fixed batch size
					n = min(points-i, -maxBatch)
				}
				ms := make([]store.Metric, n)
				for j := range ms {
					ms[j] = writerPoint(w, i+j, points)
				}
				var ps []store.Param
				var tags []store.Tag
				if maxBatch > 0 && b%10 == 0 {
					ps = []store.Param{{Key: fmt.Sprintf("p%d_%d", w, b), Value: "v"}, {Key: "common", Value: "same"}}
				}
				if maxBatch > 0 {
					tags = []store.Tag{{Key: fmt.Sprintf("w%d", w), Value: strconv.Itoa(b)}, {Key: "any", Value: strconv.Itoa(w)}}
				}
				if err := s.LogBatch(context.Background(), runID, ms, ps, tags); err != nil {
					t.Errorf("writer %d batch %d: %v", w, b, err)
					return
				}
				i += n
			}
		})
	}
	wg.Wait()
}

// TestManyWriters has 8 processes × 4 goroutines log 5,000 points each (in
// batches of 1 to 100 points, with params and tags) to one run of one
// database, all to the same 4 metric keys. No write may fail (no
// "database is locked"), and afterwards the database must hold exactly
// every point, the right latest_metrics (also as MLflow reads them), every
// param and the last value of every tag, and pass PRAGMA integrity_check.
func TestManyWriters(t *testing.T) {
	if spec := os.Getenv(envWriter); spec != "" {
		writerChild(t, spec)
		return
	}
	procs, goroutines, points := writerSize(t)
	writers := procs * goroutines
	path := filepath.Join(t.TempDir(), "mlflow.db")
	s := openAt(t, path, "3.17.2")
	run := createRun(t, s, "0", "many writers")
	elapsed := runWriters(t, path, run.Info.RunID, procs, goroutines, points, 100)
	total := writers * points
	t.Logf("%d processes × %d goroutines × %d points: %d points in %v (%.0f points/s)",
		procs, goroutines, points, total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())

	wantRows(t, "point count", rows(t, s, "SELECT count(*) FROM metrics WHERE run_uuid = ?", run.Info.RunID), strconv.Itoa(total))
	wantRows(t, "distinct steps", rows(t, s, "SELECT count(DISTINCT step) FROM metrics"), strconv.Itoa(total))
	var want []store.Metric
	for k := range metricKeys {
		var latest store.Metric
		for w := range writers {
			for i := k; i < points; i += metricKeys {
				if m := writerPoint(w, i, points); store.Supersedes(m, latest) || latest.Key == "" {
					latest = m
				}
			}
		}
		want = append(want, latest)
	}
	got, err := s.GetRun(ctx, run.Info.RunID)
	must(t, err)
	if len(got.Data.Metrics) != len(want) {
		t.Fatalf("latest metrics %v, want %v", got.Data.Metrics, want)
	}
	for i, m := range want {
		if g := got.Data.Metrics[i]; g != m {
			t.Errorf("latest %s = %+v, want %+v", m.Key, g, m)
		}
	}
	// latest_metrics agrees with the history in the database.
	wantRows(t, "latest_metrics vs metrics", rows(t, s, `SELECT count(*) FROM latest_metrics l WHERE l.run_uuid = ? AND
		(l.step, l.timestamp, l.value) != (SELECT step, timestamp, value FROM metrics m WHERE m.run_uuid = l.run_uuid AND m.key = l.key
		ORDER BY step DESC, timestamp DESC, value DESC LIMIT 1)`, run.Info.RunID), "0")
	params := map[string]string{}
	for _, p := range got.Data.Params {
		params[p.Key] = p.Value
	}
	if params["common"] != "same" || len(params) < writers+1 {
		t.Errorf("%d params, common=%q", len(params), params["common"])
	}
	for w := range writers {
		if v, ok := got.Tag(fmt.Sprintf("w%d", w)); !ok || v == "" {
			t.Errorf("tag w%d missing", w)
		}
	}
	wantRows(t, "integrity", rows(t, s, "PRAGMA integrity_check"), "ok")
	must(t, s.Close())

	t.Run("MLflow reads", func(t *testing.T) {
		m := requireMLflow(t, "3.17.2")
		out := mlflowExec(t, m, `
import sys
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
r = c.get_run(sys.argv[2])
for k in sorted(r.data.metrics):
    h = c.get_metric_history(sys.argv[2], k)
    print(k, repr(r.data.metrics[k]), len(h))
`, "sqlite:///"+path, run.Info.RunID)
		var lines []string
		for _, m := range want {
			lines = append(lines, fmt.Sprintf("%s %s %d", m.Key, pyfloat.Repr(m.Value), total/metricKeys))
		}
		if got := strings.TrimSpace(out); got != strings.Join(lines, "\n") {
			t.Errorf("MLflow reads\n%s\nwant\n%s", got, strings.Join(lines, "\n"))
		}
	})
}

// TestMultiProcessThroughput measures 8 processes (1 goroutine each)
// logging batches of 1,000 points to one database; set
// SQLSTORE_THROUGHPUT=1 to run it, SQLSTORE_WRITERS to size it.
func TestMultiProcessThroughput(t *testing.T) {
	if spec := os.Getenv(envWriter); spec != "" {
		writerChild(t, spec)
		return
	}
	if os.Getenv("SQLSTORE_THROUGHPUT") == "" {
		t.Skip("set SQLSTORE_THROUGHPUT=1 to measure")
	}
	procs, points := 8, 125_000
	if s := os.Getenv("SQLSTORE_WRITERS"); s != "" {
		var g int
		fmt.Sscanf(s, "%d,%d,%d", &procs, &g, &points)
	}
	path := filepath.Join(t.TempDir(), "mlflow.db")
	s := openAt(t, path, "3.17.2")
	run := createRun(t, s, "0", "throughput")
	must(t, s.Close())
	elapsed := runWriters(t, path, run.Info.RunID, procs, 1, points, -1000)
	total := procs * points
	t.Logf("%d processes × %d points in batches of 1000: %v, %.0f points/s", procs, points, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	s = openAt(t, path, "3.17.2")
	wantRows(t, "point count", rows(t, s, "SELECT count(*) FROM metrics"), strconv.Itoa(total))
}
