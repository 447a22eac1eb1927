package mlrun_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// systemMetricNames are MLflow's CPU, disk and network monitors' metrics.
var systemMetricNames = []string{"cpu_utilization_percentage", "system_memory_usage_megabytes",
	"system_memory_usage_percentage", "disk_usage_percentage", "disk_usage_megabytes",
	"disk_available_megabytes", "network_receive_megabytes", "network_transmit_megabytes"}

// systemHistory waits until the run has at least n steps of system
// metrics under prefix and returns each metric's history.
func systemHistory(t *testing.T, c *mlrun.Client, runID, prefix string, n int) map[string][]store.Metric {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h, err := c.GetMetricHistory(context.Background(), runID, prefix+"cpu_utilization_percentage")
		if err != nil {
			t.Fatal(err)
		}
		if len(h) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d steps of system metrics after 20 s, want %d", len(h), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	out := map[string][]store.Metric{}
	for _, name := range systemMetricNames {
		h, err := c.GetMetricHistory(context.Background(), runID, prefix+name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = h
	}
	return out
}

// checkSystemHistory checks every metric has the same consecutive steps
// from 0 and plausible values.
func checkSystemHistory(t *testing.T, hist map[string][]store.Metric) int {
	t.Helper()
	steps := len(hist["cpu_utilization_percentage"])
	for name, h := range hist {
		if len(h) != steps {
			t.Errorf("%s has %d points, cpu_utilization_percentage %d", name, len(h), steps)
		}
		for i, p := range h {
			if p.Step != int64(i) {
				t.Errorf("%s point %d has step %d", name, i, p.Step)
			}
			if strings.HasSuffix(name, "_percentage") && (p.Value < 0 || p.Value > 100) {
				t.Errorf("%s = %v", name, p.Value)
			}
			if name != "network_receive_megabytes" && name != "network_transmit_megabytes" && p.Value < 0 {
				t.Errorf("%s = %v", name, p.Value)
			}
		}
	}
	return steps
}

func TestWithSystemMetrics(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	before := runtime.NumGoroutine()
	run, err := c.StartRun(ctx, mlrun.WithSystemMetrics(mlrun.SystemMetricsInterval(20*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	systemHistory(t, c, run.ID(), "system/", 3)
	if err := run.End(ctx); err != nil {
		t.Fatal(err)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after End, %d before StartRun: the monitor leaked", n, before)
	}
	hist := systemHistory(t, c, run.ID(), "system/", 3)
	steps := checkSystemHistory(t, hist)
	time.Sleep(100 * time.Millisecond)
	if after := systemHistory(t, c, run.ID(), "system/", 0); len(after["cpu_utilization_percentage"]) != steps {
		t.Errorf("%d steps 100 ms after End, %d at End", len(after["cpu_utilization_percentage"]), steps)
	}
	r, _ := c.GetRun(ctx, run.ID())
	if r.Info.Status != store.StatusFinished {
		t.Errorf("status %v", r.Info.Status)
	}
}

// TestEndWaitsForSystemMetrics ends runs the moment their first system
// metric point appears, while the monitor is writing its first batch
// (creating the metric files): End must let that batch finish, so every
// metric has the same last step.
func TestEndWaitsForSystemMetrics(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	for range 3 {
		run, err := c.StartRun(ctx, mlrun.WithSystemMetrics(mlrun.SystemMetricsInterval(time.Millisecond)))
		if err != nil {
			t.Fatal(err)
		}
		systemHistory(t, c, run.ID(), "system/", 1)
		run.End(ctx)
		r, _ := c.GetRun(ctx, run.ID())
		var latest []store.Metric
		for _, m := range r.Data.Metrics {
			if strings.HasPrefix(m.Key, "system/") {
				latest = append(latest, m)
			}
		}
		if len(latest) != len(systemMetricNames) || slices.ContainsFunc(latest, func(m store.Metric) bool { return m.Step != latest[0].Step }) {
			t.Errorf("latest system metrics after End: %+v", latest)
		}
	}
}

func TestSystemMetricsEnvironment(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	t.Setenv(mlrun.EnvEnableSystemMetrics, "TRUE")
	t.Setenv(mlrun.EnvSystemMetricsInterval, "0.01")
	t.Setenv(mlrun.EnvSystemMetricsSamplesLogging, "2")
	t.Setenv(mlrun.EnvSystemMetricsNodeID, "node_0")
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	systemHistory(t, c, run.ID(), "system/node_0/", 2)
	run.End(ctx) // flushes: a history read while the monitor logs may be partial
	hist := systemHistory(t, c, run.ID(), "system/node_0/", 2)
	checkSystemHistory(t, hist)
	// Two samples 10 ms apart make a step.
	if cpu := hist["cpu_utilization_percentage"]; cpu[1].Timestamp-cpu[0].Timestamp < 19 {
		t.Errorf("steps %d ms apart, want two 10 ms samples each", cpu[1].Timestamp-cpu[0].Timestamp)
	}

	// WithoutSystemMetrics wins over the environment; options over the
	// interval and node variables.
	quiet, err := c.StartRun(ctx, mlrun.WithoutSystemMetrics())
	if err != nil {
		t.Fatal(err)
	}
	loud, err := c.StartRun(ctx, mlrun.WithSystemMetrics(mlrun.SystemMetricsNodeID("n1"), mlrun.SystemMetricsSamplesBeforeLogging(1)))
	if err != nil {
		t.Fatal(err)
	}
	systemHistory(t, c, loud.ID(), "system/n1/", 2)
	loud.End(ctx)
	quiet.End(ctx)
	r, _ := c.GetRun(ctx, quiet.ID())
	if slices.ContainsFunc(r.Data.Metrics, func(m store.Metric) bool { return strings.HasPrefix(m.Key, "system/") }) {
		t.Errorf("WithoutSystemMetrics run has system metrics: %v", r.Data.Metrics)
	}

	// Invalid settings fail StartRun before it creates anything.
	page, _ := c.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{"0"}})
	runs := len(page.Runs)
	for _, bad := range [][2]string{
		{mlrun.EnvEnableSystemMetrics, "yes"},
		{mlrun.EnvSystemMetricsInterval, "ten"},
		{mlrun.EnvSystemMetricsInterval, "1e300"},
		{mlrun.EnvSystemMetricsSamplesLogging, "1.5"},
	} {
		env, v := bad[0], bad[1]
		t.Run(env+"="+v, func(t *testing.T) {
			t.Setenv(env, v)
			if _, err := c.StartRun(ctx); !errors.Is(err, store.ErrInvalidParameter) {
				t.Errorf("%s=%s: StartRun error %v, want ErrInvalidParameter", env, v, err)
			}
			if _, err := c.ResumeRun(ctx, quiet.ID()); !errors.Is(err, store.ErrInvalidParameter) {
				t.Errorf("%s=%s: ResumeRun error %v, want ErrInvalidParameter", env, v, err)
			}
		})
	}
	page, _ = c.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{"0"}})
	if len(page.Runs) != runs {
		t.Errorf("%d runs after failed starts, %d before", len(page.Runs), runs)
	}
	for _, bad := range []mlrun.SystemMetricsOption{mlrun.SystemMetricsInterval(0), mlrun.SystemMetricsSamplesBeforeLogging(-1), mlrun.SystemMetricsNodeID("")} {
		if _, err := c.StartRun(ctx, mlrun.WithSystemMetrics(bad)); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("bad option: %v", err)
		}
	}
}

func mapKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
