// Command searchbench times mlrun's search_runs on issue 4's workload:
// 10,000 runs × 20 metrics × 20 params × 5 tags, a filter on one metric and
// one param, ordered by a metric, 100 results. It creates the store when
// the directory is empty, then prints one JSON line with the timing, so
// scripts/bench.sh can time MLflow's Python search_runs on the very same
// store in the same run.
//
//	go run ./bench/searchbench -backend file -dir /tmp/sb -runs 10000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// The query both sides time.
const (
	filter  = "metrics.m0 < 0.5 and params.p0 = 'v1'"
	orderBy = "metrics.m1 ASC"
	limit   = 100
)

func main() {
	backend := flag.String("backend", "file", "file or sqlite")
	dir := flag.String("dir", "", "directory of the store (created if empty)")
	runs := flag.Int("runs", 10000, "runs to create")
	iters := flag.Int("iters", 5, "timed searches")
	flag.Parse()
	if err := run(*backend, *dir, *runs, *iters); err != nil {
		fmt.Fprintln(os.Stderr, "searchbench:", err)
		os.Exit(1)
	}
}

func uriOf(backend, dir string) string {
	if backend == "sqlite" {
		return "sqlite:///" + filepath.Join(dir, "mlflow.db")
	}
	return filepath.Join(dir, "mlruns")
}

func run(backend, dir string, n, iters int) error {
	ctx := context.Background()
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// MLflow's default artifact root for SQLite is ./mlruns: keep it in dir.
	if err := os.Chdir(dir); err != nil {
		return err
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	uri := uriOf(backend, dir)
	t0 := time.Now()
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(uri))
	if err != nil {
		return err
	}
	defer c.Close()
	exp, err := c.SetExperiment(ctx, "search-bench")
	if err != nil {
		return err
	}
	existing, err := c.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{exp.ID}, MaxResults: 1})
	if err != nil {
		return err
	}
	if len(existing.Runs) == 0 {
		if err := populate(ctx, c, n); err != nil {
			return err
		}
	}
	setup := time.Since(t0)

	q := store.RunQuery{ExperimentIDs: []string{exp.ID}, Filter: filter, OrderBy: []string{orderBy}, MaxResults: limit}
	var best time.Duration
	var got int
	for i := range iters {
		t := time.Now()
		page, err := c.SearchRuns(ctx, q)
		if err != nil {
			return err
		}
		d := time.Since(t)
		if i == 0 || d < best {
			best = d
		}
		got = len(page.Runs)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"backend": backend, "uri": uri, "experiment_id": exp.ID, "runs": n,
		"filter": filter, "order_by": orderBy, "max_results": limit,
		"results": got, "search_s": best.Seconds(), "setup_s": setup.Seconds(),
	})
}

// populate logs n runs with 20 metrics, 20 params and 5 tags each,
// deterministically.
func populate(ctx context.Context, c *mlrun.Client, n int) error {
	rng := rand.New(rand.NewPCG(4, 2))
	for i := range n {
		r, err := c.StartRun(ctx, mlrun.WithStartTime(time.UnixMilli(1700000000000+int64(i))))
		if err != nil {
			return err
		}
		ms := make([]store.Metric, 20)
		for k := range ms {
			ms[k] = store.Metric{Key: "m" + strconv.Itoa(k), Value: rng.Float64(), Timestamp: 1700000000000, Step: 0}
		}
		ps := make([]store.Param, 20)
		for k := range ps {
			ps[k] = store.Param{Key: "p" + strconv.Itoa(k), Value: "v" + strconv.Itoa(rng.IntN(4))}
		}
		ts := make([]store.Tag, 5)
		for k := range ts {
			ts[k] = store.Tag{Key: "t" + strconv.Itoa(k), Value: "x" + strconv.Itoa(rng.IntN(10))}
		}
		if err := r.LogBatch(ctx, ms, ps, ts); err != nil {
			return err
		}
		if err := r.End(ctx); err != nil {
			return err
		}
	}
	return nil
}
