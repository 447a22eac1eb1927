package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// benchKeys is how many metric keys a benchmark batch spreads its points
// over.
const benchKeys = 10

// benchBatch is the batch size of BenchmarkLogBatch and BenchmarkRawInsert.
const benchBatch = 1000

// openBench opens a new store in a temporary directory with one run.
func openBench(b *testing.B) (*sqlstore.Store, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "mlflow.db")
	s, err := sqlstore.Open(context.Background(), path, &sqlstore.Options{ArtifactRoot: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	r, err := s.CreateRun(context.Background(), store.CreateRunRequest{ExperimentID: "0", RunName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return s, r.Info.RunID
}

// batchAt returns batch number i of benchBatch points over benchKeys keys.
func batchAt(i int, ts int64) []store.Metric {
	ms := make([]store.Metric, benchBatch)
	for j := range ms {
		n := i*benchBatch + j
		ms[j] = store.Metric{Key: fmt.Sprintf("metric_%d", n%benchKeys), Value: float64(n) * 0.5, Timestamp: ts, Step: int64(n / benchKeys)}
	}
	return ms
}

// BenchmarkLogMetric logs one metric point per LogBatch call (what
// MlflowClient.log_metric does), in one process, to a WAL database.
func BenchmarkLogMetric(b *testing.B) {
	s, runID := openBench(b)
	ctx := context.Background()
	ts := time.Now().UnixMilli()
	b.ResetTimer()
	cpu0, n := cpuTime(), 0
	for i := 0; b.Loop(); i++ {
		m := []store.Metric{{Key: "loss", Value: float64(i), Timestamp: ts, Step: int64(i)}}
		if err := s.LogBatch(ctx, runID, m, nil, nil); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}

// BenchmarkLogBatch logs batches of 1000 points (10 keys) per LogBatch
// call. Run it with -benchtime 1000x for 1,000,000 points; it reports
// points/s.
func BenchmarkLogBatch(b *testing.B) {
	s, runID := openBench(b)
	ctx := context.Background()
	ts := time.Now().UnixMilli()
	batches := make([][]store.Metric, 64)
	for i := range batches {
		batches[i] = batchAt(i, ts)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for i := 0; b.Loop(); i++ {
		ms := batches[i%len(batches)]
		// New steps for every batch, so no point repeats one stored.
		if i >= len(batches) {
			for j := range ms {
				ms[j].Step = int64((i*benchBatch + j) / benchKeys)
			}
		}
		if err := s.LogBatch(ctx, runID, ms, nil, nil); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRates(b, n*benchBatch, time.Since(start), cpuTime()-cpu0)
}

// reportRates reports points per second of wall time and of process CPU
// time (the latter depends less on what else the machine runs).
func reportRates(b *testing.B, points int, wall, cpu time.Duration) {
	b.ReportMetric(float64(points)/wall.Seconds(), "points/s")
	if cpu > 0 {
		b.ReportMetric(float64(points)/cpu.Seconds(), "points/cpu-s")
	}
}

// BenchmarkRawInsert is the baseline for BenchmarkLogBatch: the same
// points inserted into the same schema with the same file settings (WAL,
// synchronous=NORMAL, the same autocheckpoint, foreign keys on, BEGIN
// IMMEDIATE) by a plain loop of a prepared single-row INSERT, one
// transaction per 1000 points, without any of the store's checks or
// latest_metrics maintenance.
func BenchmarkRawInsert(b *testing.B) {
	s, runID := openBench(b)
	path := s.Path()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(20000)&_pragma=foreign_keys(1)&_txlock=immediate&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ins, err := db.Prepare("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)")
	if err != nil {
		b.Fatal(err)
	}
	defer ins.Close()
	ts := time.Now().UnixMilli()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for i := 0; b.Loop(); i++ {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		st := tx.Stmt(ins)
		for j := range benchBatch {
			k := i*benchBatch + j
			if _, err := st.Exec(fmt.Sprintf("metric_%d", k%benchKeys), float64(k)*0.5, ts, runID, int64(k/benchKeys), 0); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRates(b, n*benchBatch, time.Since(start), cpuTime()-cpu0)
}

// TestLogMetricSpeedup compares one-metric LogBatch calls with MLflow
// 3.17.2's MlflowClient.log_metric on SQLite, on this machine and at this
// moment, and requires mlrun to be at least 50 times faster, as issue 3
// asks. Both sides run in the same test, so the machine's load slows
// both. Set SQLSTORE_THROUGHPUT=1 to run it.
func TestLogMetricSpeedup(t *testing.T) {
	if os.Getenv("SQLSTORE_THROUGHPUT") == "" {
		t.Skip("set SQLSTORE_THROUGHPUT=1 to measure")
	}
	m := requireMLflow(t, "3.17.2")
	out := mlflowExec(t, m, `
import sys, time
from mlflow import MlflowClient
c = MlflowClient("sqlite:///" + sys.argv[1])
r = c.create_run("0").info.run_id
for i in range(10): c.log_metric(r, "loss", float(i), step=i)
n = 200
t = time.perf_counter()
for i in range(n): c.log_metric(r, "loss", float(i), step=i + 10)
print((time.perf_counter() - t) / n)
`, filepath.Join(t.TempDir(), "py.db"))
	pySec, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	must(t, err)
	s := newStore(t, "3.17.2")
	r := createRun(t, s, "0", "speed")
	const n = 2000
	start := time.Now()
	for i := range n {
		must(t, s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "loss", Value: float64(i), Timestamp: 1, Step: int64(i)}}, nil, nil))
	}
	goSec := time.Since(start).Seconds() / n
	t.Logf("MLflow log_metric %.2f ms/call, mlrun %.0f µs/call: %.0f× faster", pySec*1e3, goSec*1e6, pySec/goSec)
	if pySec/goSec < 50 {
		t.Errorf("only %.0f× faster than MLflow", pySec/goSec)
	}
}
