package sqlstore_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

const envCrash = "SQLSTORE_TEST_CRASH" // path|runID|trial

// crashTrials returns the number of SIGKILL trials: 50, 12 with -race, 10
// with -short, or SQLSTORE_CRASH_TRIALS.
func crashTrials(t *testing.T) int {
	n := 50
	if raceEnabled {
		n = 12
	}
	if testing.Short() {
		n = 10
	}
	if s := os.Getenv("SQLSTORE_CRASH_TRIALS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("SQLSTORE_CRASH_TRIALS=%q", s)
		}
	}
	return n
}

// crashChild logs to the database until it is killed. Before each
// LogBatch it prints "begin <first step> <n>", after it returns
// "ack <first step> <n>"; for each new run "run <id>" once it exists.
func crashChild(spec string) {
	parts := strings.Split(spec, "|")
	path, runID := parts[0], parts[1]
	trial, _ := strconv.Atoi(parts[2])
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, path, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	out := os.Stdout // unbuffered: a line is written before the next call
	rng := rand.New(rand.NewPCG(uint64(trial), 7))
	step := int64(trial) * 1_000_000
	for b := 0; ; b++ {
		n := 1 + rng.IntN(50)
		ms := make([]store.Metric, n)
		for i := range ms {
			ms[i] = store.Metric{Key: fmt.Sprintf("k%d", i%3), Value: float64(step + int64(i)), Timestamp: int64(b), Step: step + int64(i)}
		}
		params := []store.Param{{Key: fmt.Sprintf("t%d_b%d", trial, b), Value: strconv.FormatInt(step, 10)}}
		fmt.Fprintf(out, "begin %d %d\n", step, n)
		if err := s.LogBatch(ctx, runID, ms, params, []store.Tag{{Key: "last", Value: strconv.FormatInt(step, 10)}}); err != nil {
			fmt.Fprintln(out, "error", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "ack %d %d\n", step, n)
		step += int64(n)
		if b%20 == 0 {
			r, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: fmt.Sprintf("crash %d/%d", trial, b)})
			if err != nil {
				fmt.Fprintln(out, "error", err)
				os.Exit(3)
			}
			fmt.Fprintf(out, "run %s\n", r.Info.RunID)
		}
	}
}

// TestCrashSafety kills (SIGKILL) a process that logs to the database in a
// loop, at a random moment, 50 times (10 with -short). After each kill it
// checks, without Python, that every point the process had seen
// acknowledged is in the database, that the batch in flight is there
// entirely or not at all (points and param), that every acknowledged run
// exists, that latest_metrics agrees with the points, and that PRAGMA
// integrity_check is ok; after the last trial, that MLflow reads the
// database.
func TestCrashSafety(t *testing.T) {
	if spec := os.Getenv(envCrash); spec != "" {
		crashChild(spec)
		return
	}
	exe, err := os.Executable()
	must(t, err)
	path := filepath.Join(t.TempDir(), "mlflow.db")
	s := openAt(t, path, "3.17.2")
	run := createRun(t, s, "0", "crash")
	must(t, s.Close())
	trials := crashTrials(t)
	rng := rand.New(rand.NewPCG(1, 2))
	totalAcked := 0
	for trial := 1; trial <= trials; trial++ {
		cmd := exec.Command(exe, "-test.run=^TestCrashSafety$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d", envCrash, path, run.Info.RunID, trial))
		stdout, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		delay := time.Duration(20+rng.IntN(400)) * time.Millisecond
		if raceEnabled {
			delay *= 4 // the child starts and logs about ten times slower
		}
		timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
		var lines []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		err = cmd.Wait()
		timer.Stop()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("trial %d: child exited by itself (%v):\n%s", trial, err, strings.Join(lines, "\n"))
		}
		acked, inflight, runs := parseCrashLog(t, trial, lines)
		totalAcked += len(acked)
		checkAfterCrash(t, trial, path, run.Info.RunID, acked, inflight, runs)
	}
	t.Logf("%d trials, %d acknowledged batches, all present", trials, totalAcked)

	t.Run("MLflow reads", func(t *testing.T) {
		m := requireMLflow(t, "3.17.2")
		out := mlflowExec(t, m, `
import sys
from mlflow import MlflowClient
c = MlflowClient(sys.argv[1])
r = c.get_run(sys.argv[2])
print(sum(len(c.get_metric_history(sys.argv[2], k)) for k in r.data.metrics), len(r.data.params))
`, "sqlite:///"+path, run.Info.RunID)
		s := openAt(t, path, "3.17.2")
		want := rows(t, s, "SELECT (SELECT count(*) FROM metrics WHERE run_uuid = ?) || ' ' || (SELECT count(*) FROM params WHERE run_uuid = ?)", run.Info.RunID, run.Info.RunID)
		if strings.TrimSpace(out) != want[0] {
			t.Errorf("MLflow reads %q points and params, the database has %q", out, want[0])
		}
	})
}

// batchRange is a LogBatch of the crash child: n points from step first.
type batchRange struct{ first, n int64 }

func parseCrashLog(t *testing.T, trial int, lines []string) (acked []batchRange, inflight *batchRange, runs []string) {
	t.Helper()
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 3 && (f[0] == "begin" || f[0] == "ack"):
			first, err1 := strconv.ParseInt(f[1], 10, 64)
			n, err2 := strconv.ParseInt(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				continue // a line cut by the kill
			}
			b := batchRange{first, n}
			if f[0] == "begin" {
				inflight = &b
			} else {
				acked = append(acked, b)
				inflight = nil
			}
		case len(f) == 2 && f[0] == "run" && len(f[1]) == 32:
			runs = append(runs, f[1])
		case len(f) > 0 && f[0] == "error":
			t.Fatalf("trial %d: child failed: %s", trial, l)
		}
	}
	return acked, inflight, runs
}

// checkAfterCrash checks the database after a kill (see TestCrashSafety).
func checkAfterCrash(t *testing.T, trial int, path, runID string, acked []batchRange, inflight *batchRange, runs []string) {
	t.Helper()
	s, err := sqlstore.Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("trial %d: reopen after kill: %v", trial, err)
	}
	defer s.Close()
	db := rawDB(t, path)
	steps := map[int64]bool{}
	rs, err := db.Query("SELECT step FROM metrics WHERE run_uuid = ?", runID)
	must(t, err)
	for rs.Next() {
		var st int64
		must(t, rs.Scan(&st))
		steps[st] = true
	}
	must(t, rs.Err())
	rs.Close()
	params := map[string]int{}
	for _, v := range queryStrings(t, db, "SELECT value FROM params WHERE run_uuid = ?", runID) {
		params[v]++
	}
	count := func(first, n int64) (points, nparams int) {
		for st := first; st < first+n; st++ {
			if steps[st] {
				points++
			}
		}
		return points, params[strconv.FormatInt(first, 10)]
	}
	for _, b := range acked {
		if points, params := count(b.first, b.n); points != int(b.n) || params != 1 {
			t.Fatalf("trial %d: acknowledged batch at step %d: %d of %d points, %d params", trial, b.first, points, b.n, params)
		}
	}
	if inflight != nil {
		points, params := count(inflight.first, inflight.n)
		if !(points == 0 && params == 0 || points == int(inflight.n) && params == 1) {
			t.Fatalf("trial %d: batch in flight at step %d is partial: %d of %d points, %d params", trial, inflight.first, points, inflight.n, params)
		}
	}
	for _, id := range runs {
		if _, err := s.GetRun(ctx, id); err != nil {
			t.Fatalf("trial %d: acknowledged run: %v", trial, err)
		}
	}
	var bad int
	must(t, db.QueryRow(`SELECT count(*) FROM latest_metrics l WHERE l.run_uuid = ? AND
		(l.step, l.timestamp, l.value) != (SELECT step, timestamp, value FROM metrics m WHERE m.run_uuid = l.run_uuid AND m.key = l.key
		ORDER BY step DESC, timestamp DESC, value DESC LIMIT 1)`, runID).Scan(&bad))
	if bad != 0 {
		t.Fatalf("trial %d: %d latest_metrics rows disagree with the points", trial, bad)
	}
	var check string
	must(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	if check != "ok" {
		t.Fatalf("trial %d: integrity_check: %s", trial, check)
	}
	must(t, db.Close())
}
