package mlrun

import (
	"context"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/store"
)

func TestPyRound1(t *testing.T) {
	// Python 3.11's round(x, 1) of each value.
	for _, c := range []struct{ x, want float64 }{
		{0.25, 0.2}, {0.35, 0.3}, {0.05, 0.1}, {0.15, 0.1}, {2.675, 2.7}, {-0.25, -0.2}, {-0.05, -0.1},
		{1e-07, 0}, {12.349999999999, 12.3}, {99.95, 100}, {0.45, 0.5}, {1.0 / 3, 0.3}, {7.85, 7.8},
		{1e20, 1e20}, {5e-324, 0}, {123456.65, 123456.6}, {(33.3 + 33.4 + 12.2) / 3, 26.3},
	} {
		if got := pyRound1(c.x); got != c.want {
			t.Errorf("pyRound1(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

func TestCPUPercent(t *testing.T) {
	t1 := cpu.TimesStat{User: 10, System: 5, Idle: 80, Iowait: 5}
	t2 := cpu.TimesStat{User: 13, System: 6, Idle: 85, Iowait: 6, Guest: 100}
	// busy 15 -> 19 (+4) over total 100 -> 110 (+10); guest is in user.
	if got := cpuPercent(t1, t2); got != 40 {
		t.Errorf("cpuPercent = %v, want 40", got)
	}
	if got := cpuPercent(t2, t2); got != 0 {
		t.Errorf("cpuPercent without progress = %v, want 0", got)
	}
}

// fakeSampler adds, per sample i (from 1), cpu = i and network = 10*i.
func fakeSampler(mu *sync.Mutex, n *int) func(context.Context) sampler {
	return func(context.Context) sampler {
		return func(_ context.Context, agg *systemAggregator) {
			mu.Lock()
			*n++
			i := float64(*n)
			mu.Unlock()
			agg.add("cpu_utilization_percentage", i+0.04, true)
			agg.add("network_receive_megabytes", 10*i, false)
		}
	}
}

// tempRun starts a run in a fresh file store.
func tempRun(t *testing.T) (*Client, *Run) {
	t.Helper()
	uri, _ := fileuri.FromPath(filepath.Join(t.TempDir(), "mlruns"))
	c, err := Open(context.Background(), WithTrackingURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	run, err := c.StartRun(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c, run
}

func TestSystemMonitorAggregatesAndSteps(t *testing.T) {
	ctx := context.Background()
	c, run := tempRun(t)
	var mu sync.Mutex
	var n int
	setup := &systemMetricsSetup{ctx: ctx, interval: 5 * time.Millisecond, samples: 2, prefix: "system/node-1/"}
	m := setup.start(c, run.id, fakeSampler(&mu, &n))
	waitFor(t, func() bool {
		h, _ := c.GetMetricHistory(ctx, run.id, "system/node-1/cpu_utilization_percentage")
		return len(h) >= 3
	})
	m.stop()
	m.stop() // idempotent
	hist, err := c.GetMetricHistory(ctx, run.id, "system/node-1/cpu_utilization_percentage")
	if err != nil {
		t.Fatal(err)
	}
	net, _ := c.GetMetricHistory(ctx, run.id, "system/node-1/network_receive_megabytes")
	if len(net) != len(hist) {
		t.Fatalf("%d network points for %d cpu points", len(net), len(hist))
	}
	for i, p := range hist {
		// Step i averages samples 2i+1 and 2i+2, rounded: 2i+1.54 -> 2i+1.5;
		// the network metric is the last sample's.
		if p.Step != int64(i) || p.Value != float64(2*i)+1.5 || net[i].Step != int64(i) || net[i].Value != float64(20*i+20) {
			t.Errorf("point %d: cpu %+v, network %+v", i, p, net[i])
		}
		if net[i].Timestamp != p.Timestamp {
			t.Errorf("point %d: one step's metrics have timestamps %d and %d", i, p.Timestamp, net[i].Timestamp)
		}
	}
	mu.Lock()
	sampled := n
	mu.Unlock()
	if sampled > 2*len(hist)+2 {
		t.Errorf("%d samples for %d steps: the monitor kept sampling after stop", sampled, len(hist))
	}

	// Resuming continues after the largest system/ step, as MLflow's
	// resume_logging does.
	m = setup.start(c, run.id, fakeSampler(&mu, &n))
	waitFor(t, func() bool {
		h, _ := c.GetMetricHistory(ctx, run.id, "system/node-1/cpu_utilization_percentage")
		return len(h) > len(hist)
	})
	m.stop()
	after, _ := c.GetMetricHistory(ctx, run.id, "system/node-1/cpu_utilization_percentage")
	if next := after[len(hist)]; next.Step != int64(len(hist)) {
		t.Errorf("resumed monitor logged step %d first, want %d", next.Step, len(hist))
	}

	// The monitor stops by itself once the run is no longer RUNNING.
	m = setup.start(c, run.id, fakeSampler(&mu, &n))
	end := c.nowMillis()
	if _, err := c.store.UpdateRun(ctx, run.id, store.RunUpdate{Status: store.StatusFinished, EndTime: &end}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the monitor goes on after the run finished")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestBatchLoggerFlushRule(t *testing.T) {
	ctx := context.Background()
	c, run := tempRun(t)
	b := &batchLogger{c: c, runID: run.id}
	// The first record flushes (no time spent logging yet).
	if err := b.record(ctx, []keyValue{{"system/x", 1}}, 0); err != nil || len(b.buf) != 0 {
		t.Fatalf("first record: buffered %d, %v", len(b.buf), err)
	}
	// Logging that took long keeps later points buffered until flush.
	b.logTime = time.Hour
	b.record(ctx, []keyValue{{"system/x", 2}}, 1)
	if len(b.buf) != 1 {
		t.Fatalf("buffered %d points, want 1", len(b.buf))
	}
	if err := b.flush(ctx); err != nil || len(b.buf) != 0 {
		t.Fatalf("flush: %v, %d left", err, len(b.buf))
	}
	h, _ := c.GetMetricHistory(ctx, run.id, "system/x")
	if len(h) != 2 || h[1].Step != 1 || h[1].Value != 2 {
		t.Errorf("history %+v", h)
	}
}

func TestHostSampler(t *testing.T) {
	ctx := context.Background()
	sample := hostSampler()(ctx)
	var agg systemAggregator
	sample(ctx, &agg)
	time.Sleep(20 * time.Millisecond)
	sample(ctx, &agg)
	got := map[string]float64{}
	for _, kv := range agg.metrics("") {
		got[kv.key] = kv.value
	}
	// MLflow's metric names, in its monitors' order.
	want := []string{"cpu_utilization_percentage", "system_memory_usage_megabytes", "system_memory_usage_percentage",
		"disk_usage_percentage", "disk_usage_megabytes", "disk_available_megabytes",
		"network_receive_megabytes", "network_transmit_megabytes"}
	if len(agg.keys) != len(want) {
		t.Fatalf("metrics %v, want %v", agg.keys, want)
	}
	for i, k := range want {
		if agg.keys[i] != k {
			t.Errorf("metric %d is %s, want %s", i, agg.keys[i], k)
		}
	}
	for _, k := range []string{"cpu_utilization_percentage", "system_memory_usage_percentage", "disk_usage_percentage"} {
		if v := got[k]; v < 0 || v > 100 || math.IsNaN(v) {
			t.Errorf("%s = %v, not a percentage", k, v)
		}
	}
	if got["system_memory_usage_megabytes"] <= 0 || got["disk_usage_megabytes"] <= 0 || got["network_receive_megabytes"] < 0 {
		t.Errorf("implausible readings %v", got)
	}
}
