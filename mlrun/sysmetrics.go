package mlrun

import (
	"context"
	"math"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/internal/pystr"
	"github.com/mlrun-go/mlrun/store"
)

// System metrics are logged as MLflow 3.17.2's SystemMetricsMonitor logs
// them (mlflow/system_metrics/): every sampling interval (default 10 s) the
// CPU, disk and network monitors take a sample; every
// samples-before-logging samples (default 1) their aggregates are logged
// at the next step (0, 1, 2, …; a resumed run continues after the largest
// step of its system/ metrics) as
//
//	system/[<node id>/]cpu_utilization_percentage      mean, rounded to 0.1
//	system/[<node id>/]system_memory_usage_megabytes   mean, rounded to 0.1
//	system/[<node id>/]system_memory_usage_percentage  mean, rounded to 0.1
//	system/[<node id>/]disk_usage_percentage           mean, rounded to 0.1
//	system/[<node id>/]disk_usage_megabytes            mean, rounded to 0.1
//	system/[<node id>/]disk_available_megabytes        mean, rounded to 0.1
//	system/[<node id>/]network_receive_megabytes       last sample, since monitoring began
//	system/[<node id>/]network_transmit_megabytes      last sample, since monitoring began
//
// GPU metrics are not collected. Samples not yet aggregated when the run
// ends are dropped, as MLflow drops them.

// The environment variables MLflow reads for system metrics.
const (
	EnvEnableSystemMetrics         = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"
	EnvSystemMetricsInterval       = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"
	EnvSystemMetricsSamplesLogging = "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING"
	EnvSystemMetricsNodeID         = "MLFLOW_SYSTEM_METRICS_NODE_ID"
)

// SystemMetricsPrefix starts the key of every system metric.
const SystemMetricsPrefix = "system/"

// SystemMetricsOption configures [WithSystemMetrics].
type SystemMetricsOption func(*systemMetricsConfig) error

type systemMetricsConfig struct {
	enabled  bool
	interval time.Duration // 0: the environment's, else 10 s
	samples  int           // 0: the environment's, else 1
	nodeID   string        // "": the environment's
}

// SystemMetricsInterval sets the sampling interval (default
// MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL seconds, else 10 s).
func SystemMetricsInterval(d time.Duration) SystemMetricsOption {
	return func(c *systemMetricsConfig) error {
		if d <= 0 {
			return store.Invalidf("system metrics sampling interval %v must be positive", d)
		}
		c.interval = d
		return nil
	}
}

// SystemMetricsSamplesBeforeLogging sets how many samples are aggregated
// into each logged step (default MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING,
// else 1).
func SystemMetricsSamplesBeforeLogging(n int) SystemMetricsOption {
	return func(c *systemMetricsConfig) error {
		if n <= 0 {
			return store.Invalidf("system metrics samples before logging %d must be positive", n)
		}
		c.samples = n
		return nil
	}
}

// SystemMetricsNodeID names the machine, for runs that span several: its
// metrics are logged as system/<id>/... (default
// MLFLOW_SYSTEM_METRICS_NODE_ID, else none).
func SystemMetricsNodeID(id string) SystemMetricsOption {
	return func(c *systemMetricsConfig) error {
		if id == "" {
			return store.Invalidf("system metrics node id must not be empty")
		}
		c.nodeID = id
		return nil
	}
}

// WithSystemMetrics logs the machine's CPU, memory, disk and network use
// to the run while it runs, as mlflow.start_run(log_system_metrics=True)
// does, until [Run.End]. Without this option (or [WithoutSystemMetrics])
// StartRun does so when MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING is true or 1.
// Options override the MLFLOW_SYSTEM_METRICS_* environment variables.
func WithSystemMetrics(opts ...SystemMetricsOption) RunOption {
	return func(rc *runConfig) error {
		c := &systemMetricsConfig{enabled: true}
		for _, o := range opts {
			if err := o(c); err != nil {
				return err
			}
		}
		rc.systemMetrics = c
		return nil
	}
}

// WithoutSystemMetrics turns system metrics off for the run whatever
// MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING says, as
// mlflow.start_run(log_system_metrics=False).
func WithoutSystemMetrics() RunOption {
	return func(rc *runConfig) error {
		rc.systemMetrics = &systemMetricsConfig{}
		return nil
	}
}

// systemMetricsSetup is a resolved configuration: what a new run's monitor
// will do. A nil *systemMetricsSetup monitors nothing.
type systemMetricsSetup struct {
	ctx      context.Context
	interval time.Duration
	samples  int
	prefix   string
}

var pyIntRe = regexp.MustCompile(`^[+-]?[0-9]+(_[0-9]+)*$`)

// resolveSystemMetrics applies the environment to c (nil: no option
// given), as SystemMetricsMonitor and start_run read it, before anything is
// written.
func resolveSystemMetrics(ctx context.Context, c *systemMetricsConfig) (*systemMetricsSetup, error) {
	if c == nil {
		c = &systemMetricsConfig{}
		if v, ok := os.LookupEnv(EnvEnableSystemMetrics); ok {
			switch strings.ToLower(v) {
			case "true", "1":
				c.enabled = true
			case "false", "0":
			default:
				return nil, store.Invalidf("%s value must be one of ['true', 'false', '1', '0'] (case-insensitive), but got %s", EnvEnableSystemMetrics, v)
			}
		}
	}
	if !c.enabled {
		return nil, nil
	}
	s := &systemMetricsSetup{ctx: context.WithoutCancel(ctx), interval: c.interval, samples: c.samples, prefix: SystemMetricsPrefix}
	if v, ok := os.LookupEnv(EnvSystemMetricsInterval); ok && s.interval == 0 {
		f, err := pyfloat.Parse(v)
		if err != nil || !(f >= 0 && f <= 1e9) { // NaN, ±Inf, negative or beyond ~31 years
			return nil, store.Invalidf("Failed to convert %s for %s: not a number of seconds >= 0", pystr.Repr(v), EnvSystemMetricsInterval)
		}
		s.interval = time.Duration(f * float64(time.Second))
	}
	if s.interval == 0 {
		s.interval = 10 * time.Second
	}
	if v, ok := os.LookupEnv(EnvSystemMetricsSamplesLogging); ok && s.samples == 0 {
		t := strings.TrimSpace(v)
		n, err := strconv.Atoi(strings.ReplaceAll(t, "_", ""))
		if !pyIntRe.MatchString(t) || err != nil || n < 0 {
			return nil, store.Invalidf("Failed to convert %s for %s: not a count >= 0", pystr.Repr(v), EnvSystemMetricsSamplesLogging)
		}
		s.samples = n
	}
	if s.samples == 0 {
		s.samples = 1
	}
	node := c.nodeID
	if node == "" {
		node = os.Getenv(EnvSystemMetricsNodeID)
	}
	if node != "" {
		s.prefix += node + "/"
	}
	return s, nil
}

// attach starts monitoring run (unless s is nil or err is set); it has the
// shape of StartRun's results so StartRun can wrap them.
func (s *systemMetricsSetup) attach(run *Run, err error) (*Run, error) {
	if s == nil || err != nil {
		return run, err
	}
	run.sys = s.start(run.c, run.id, hostSampler())
	return run, nil
}

// systemMonitor is a running monitor goroutine.
type systemMonitor struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// stop ends the monitor and waits for its goroutine, which flushes what
// it has buffered. It is safe on a nil monitor and more than once.
func (m *systemMonitor) stop() {
	if m == nil {
		return
	}
	m.once.Do(func() {
		m.cancel()
		<-m.done
	})
}

// sampler adds one sample of every monitor to an aggregator.
type sampler func(ctx context.Context, agg *systemAggregator)

// start starts monitoring. Cancelling the monitor ends its waits; its
// store calls run to completion (s.ctx is never cancelled), so a batch is
// never cut short by stop.
func (s *systemMetricsSetup) start(c *Client, runID string, newSampler func(context.Context) sampler) *systemMonitor {
	ctx, cancel := context.WithCancel(s.ctx)
	m := &systemMonitor{cancel: cancel, done: make(chan struct{})}
	step := int64(0)
	if r, err := c.store.GetRun(s.ctx, runID); err == nil {
		for _, x := range r.Data.Metrics {
			if strings.HasPrefix(x.Key, SystemMetricsPrefix) && x.Step >= step {
				step = x.Step + 1
			}
		}
	}
	sample := newSampler(ctx)
	go func() {
		defer close(m.done)
		bl := &batchLogger{c: c, runID: runID}
		defer bl.flush(s.ctx)
		var agg systemAggregator
		timer := time.NewTimer(s.interval)
		defer timer.Stop()
		for {
			for range s.samples {
				sample(ctx, &agg)
				timer.Reset(s.interval)
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
				// Stop once the run is over, as MLflow's monitor does.
				r, err := c.store.GetRun(s.ctx, runID)
				if err != nil || r.Info.Status != store.StatusRunning {
					return
				}
			}
			if err := bl.record(s.ctx, agg.metrics(s.prefix), step); err != nil {
				return
			}
			step++
			agg.clear()
		}
	}()
	return m
}

// systemAggregator holds the samples of one logging period.
type systemAggregator struct {
	keys []string             // in the order first sampled
	avg  map[string][]float64 // averaged metrics' samples
	last map[string]float64   // last-value metrics
}

func (a *systemAggregator) add(key string, v float64, averaged bool) {
	if a.avg == nil {
		a.avg, a.last = map[string][]float64{}, map[string]float64{}
	}
	_, seenAvg := a.avg[key]
	_, seenLast := a.last[key]
	if !seenAvg && !seenLast {
		a.keys = append(a.keys, key)
	}
	if averaged {
		a.avg[key] = append(a.avg[key], v)
	} else {
		a.last[key] = v
	}
}

// metrics returns the aggregates, keys prefixed: the monitors' round(sum /
// len, 1), or the last value.
func (a *systemAggregator) metrics(prefix string) []keyValue {
	out := make([]keyValue, 0, len(a.keys))
	for _, k := range a.keys {
		if vs, ok := a.avg[k]; ok {
			var sum float64
			for _, v := range vs {
				sum += v
			}
			out = append(out, keyValue{prefix + k, pyRound1(sum / float64(len(vs)))})
		} else {
			out = append(out, keyValue{prefix + k, a.last[k]})
		}
	}
	return out
}

func (a *systemAggregator) clear() { *a = systemAggregator{} }

type keyValue struct {
	key   string
	value float64
}

// pyRound1 is Python's round(x, 1): the float nearest the exact value of x
// rounded to one decimal, ties to even.
func pyRound1(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 1, 64), 64)
	return r
}

// batchLogger is MLflow's BatchMetricsLogger: it buffers points and logs
// them when the time between records is at least ten times the time spent
// logging, and at flush.
type batchLogger struct {
	c                *Client
	runID            string
	buf              []store.Metric
	trainingTime     time.Duration
	logTime          time.Duration
	previous         time.Time
	previousRecorded bool
}

func (b *batchLogger) record(ctx context.Context, kvs []keyValue, step int64) error {
	now := time.Now()
	if !b.previousRecorded {
		b.previous, b.previousRecorded = now, true
	}
	b.trainingTime += now.Sub(b.previous)
	ts := b.c.nowMillis()
	for _, kv := range kvs {
		b.buf = append(b.buf, store.Metric{Key: kv.key, Value: kv.value, Timestamp: ts, Step: step})
	}
	var err error
	if b.trainingTime >= 10*b.logTime {
		err = b.flush(ctx)
	}
	b.previous = now
	return err
}

func (b *batchLogger) flush(ctx context.Context) error {
	if len(b.buf) == 0 {
		return nil
	}
	start := time.Now()
	err := b.c.LogBatch(ctx, b.runID, b.buf, nil, nil)
	b.logTime += time.Since(start)
	b.buf = nil
	return err
}

// hostSampler returns the sampler of this machine: MLflow's CPUMonitor,
// DiskMonitor and NetworkMonitor, read through gopsutil with psutil's
// formulas. A monitor whose reading fails adds nothing to that sample.
func hostSampler() func(context.Context) sampler {
	return func(ctx context.Context) sampler {
		lastCPU, cpuErr := cpuTimes(ctx)
		var recv0, sent0 float64
		netErr := netBytes(ctx, &recv0, &sent0)
		root := string(os.PathSeparator)
		return func(ctx context.Context, agg *systemAggregator) {
			// CPUMonitor: psutil.cpu_percent() since the previous sample,
			// and psutil.virtual_memory().
			if t, err := cpuTimes(ctx); err == nil {
				if cpuErr == nil {
					agg.add("cpu_utilization_percentage", cpuPercent(lastCPU, t), true)
				}
				lastCPU, cpuErr = t, nil
			}
			if vm, err := mem.VirtualMemoryWithContext(ctx); err == nil && vm.Total > 0 {
				used := float64(vm.Used)
				if runtime.GOOS == "linux" {
					used = psutilLinuxUsed(vm)
				}
				agg.add("system_memory_usage_megabytes", used/1e6, true)
				agg.add("system_memory_usage_percentage", used/float64(vm.Total)*100, true)
			}
			// DiskMonitor: psutil.disk_usage(os.sep).
			if du, err := disk.UsageWithContext(ctx, root); err == nil {
				pct := 0.0
				if du.Used+du.Free > 0 {
					pct = pyRound1(float64(du.Used) / float64(du.Used+du.Free) * 100)
				}
				agg.add("disk_usage_percentage", pct, true)
				agg.add("disk_usage_megabytes", float64(du.Used)/1e6, true)
				agg.add("disk_available_megabytes", float64(du.Free)/1e6, true)
			}
			// NetworkMonitor: psutil.net_io_counters() since monitoring began.
			var recv, sent float64
			if netErr == nil && netBytes(ctx, &recv, &sent) == nil {
				agg.add("network_receive_megabytes", recv-recv0, false)
				agg.add("network_transmit_megabytes", sent-sent0, false)
			}
		}
	}
}

func cpuTimes(ctx context.Context) (cpu.TimesStat, error) {
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil || len(ts) == 0 {
		return cpu.TimesStat{}, store.Invalidf("no CPU times: %v", err)
	}
	return ts[0], nil
}

// cpuPercent is psutil's _cpu_calc: busy time over total time between two
// readings, in percent rounded to 0.1. Guest time is part of user time.
func cpuPercent(t1, t2 cpu.TimesStat) float64 {
	total := func(t cpu.TimesStat) float64 {
		return t.User + t.Nice + t.System + t.Idle + t.Iowait + t.Irq + t.Softirq + t.Steal
	}
	busy := func(t cpu.TimesStat) float64 { return total(t) - t.Idle - t.Iowait }
	if busy(t2) <= busy(t1) {
		return 0
	}
	all := total(t2) - total(t1)
	if all <= 0 {
		return 0
	}
	return pyRound1((busy(t2) - busy(t1)) / all * 100)
}

// psutilLinuxUsed is psutil's "used" memory on Linux: total - free -
// buffers - cached (page cache and reclaimable slab), or total - free when
// that is negative (in some containers).
func psutilLinuxUsed(vm *mem.VirtualMemoryStat) float64 {
	used := int64(vm.Total) - int64(vm.Free) - int64(vm.Buffers) - int64(vm.Cached)
	if used < 0 {
		used = int64(vm.Total) - int64(vm.Free)
	}
	return float64(used)
}

// netBytes reads the megabytes received and sent over every interface.
func netBytes(ctx context.Context, recv, sent *float64) error {
	io, err := net.IOCountersWithContext(ctx, false)
	if err != nil || len(io) == 0 {
		return store.Invalidf("no network counters: %v", err)
	}
	*recv, *sent = float64(io[0].BytesRecv)/1e6, float64(io[0].BytesSent)/1e6
	return nil
}
