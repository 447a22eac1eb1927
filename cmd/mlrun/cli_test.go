package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// seed writes three runs with a metric and a param into a new store.
func seed(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	uri := filepath.Join(t.TempDir(), "mlruns")
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.SetExperiment(ctx, "sweep"); err != nil {
		t.Fatal(err)
	}
	for i, rmse := range []float64{0.9, 0.4, 0.6} {
		run, err := c.StartRun(ctx, mlrun.WithRunName("run"+string(rune('a'+i))))
		if err != nil {
			t.Fatal(err)
		}
		run.LogParam(ctx, "alpha", float64(i)/10)
		run.LogMetric(ctx, "rmse", rmse)
		run.End(ctx)
	}
	return uri
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

func TestRunsJSON(t *testing.T) {
	uri := seed(t)
	out, err := runCLI(t, "runs", "--tracking-uri", uri, "--experiment", "sweep",
		"--filter", "metrics.rmse < 0.8", "--order-by", "metrics.rmse ASC", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var runs []struct {
		RunID   string            `json:"run_id"`
		RunName string            `json:"run_name"`
		Status  string            `json:"status"`
		Params  map[string]string `json:"params"`
		Metrics map[string]any    `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(runs) != 2 || runs[0].RunName != "runb" || runs[1].RunName != "runc" {
		t.Fatalf("runs = %+v", runs)
	}
	if runs[0].Status != "FINISHED" || runs[0].Params["alpha"] != "0.1" || runs[0].Metrics["rmse"] != 0.4 || len(runs[0].RunID) != 32 {
		t.Errorf("run = %+v", runs[0])
	}
	out, err = runCLI(t, "runs", "--tracking-uri", uri, "--max-results", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &runs); err != nil || len(runs) != 1 || runs[0].RunName != "runc" {
		t.Errorf("--max-results 1: %v %+v", err, runs)
	}
	out, err = runCLI(t, "runs", "--tracking-uri", uri)
	if err != nil || strings.Count(out, "FINISHED") != 3 {
		t.Errorf("table output (%v):\n%s", err, out)
	}
}

func TestRunsErrors(t *testing.T) {
	uri := seed(t)
	if _, err := runCLI(t, "runs", "--tracking-uri", uri, "--filter", "metrics.rmse < 1 or params.a = '1'"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("OR filter: err = %v, want ErrInvalidParameter", err)
	}
	if _, err := runCLI(t, "runs", "--tracking-uri", uri, "--view", "sideways"); exitCode(err) != exitUsage {
		t.Errorf("bad --view: err = %v, want usage error", err)
	}
	if _, err := runCLI(t, "runs", "--tracking-uri", uri, "--experiment", "nope"); err == nil {
		t.Error("unknown experiment: want error")
	}
	if _, err := runCLI(t, "bogus"); exitCode(err) != exitUsage {
		t.Errorf("unknown command: err = %v", err)
	}
}

func TestExperiments(t *testing.T) {
	uri := seed(t)
	out, err := runCLI(t, "experiments", "--tracking-uri", uri, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var exps []experimentJSON
	if err := json.Unmarshal([]byte(out), &exps); err != nil || len(exps) != 2 {
		t.Fatalf("experiments: %v %s", err, out)
	}
	if exps[0].Name != "sweep" || exps[1].Name != "Default" {
		t.Errorf("experiments = %+v", exps)
	}
}

func TestInitSQLiteVersion(t *testing.T) {
	for _, v := range []string{"2.22.5", "3.17.2"} {
		path := filepath.Join(t.TempDir(), "mlflow.db")
		out, err := runCLI(t, "init", "--tracking-uri", "sqlite:///"+path, "--mlflow-version", v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "MLflow "+v+" SQLite store") {
			t.Errorf("init %s: %q", v, out)
		}
		// Reopening detects the version from the file.
		out, err = runCLI(t, "init", "--tracking-uri", "sqlite:///"+path)
		if err != nil || !strings.Contains(out, "MLflow "+v+" SQLite store") {
			t.Errorf("reopen %s: %q, %v", v, out, err)
		}
	}
	if _, err := runCLI(t, "init", "--tracking-uri", "sqlite:///"+filepath.Join(t.TempDir(), "x.db"), "--mlflow-version", "1.30.0"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("unsupported version: err = %v", err)
	}
	dir := filepath.Join(t.TempDir(), "mlruns")
	if out, err := runCLI(t, "init", "--tracking-uri", dir); err != nil || !strings.Contains(out, "mlruns file store") {
		t.Errorf("init mlruns: %q, %v", out, err)
	}
}
