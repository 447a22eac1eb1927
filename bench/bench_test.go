package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// openRun opens a fresh store of the given kind and starts a run.
func openRun(b *testing.B, uri func(dir string) string) *mlrun.Run {
	b.Helper()
	ctx := context.Background()
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(uri(b.TempDir())))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	run, err := c.StartRun(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return run
}

func fileURI(dir string) string   { return filepath.Join(dir, "mlruns") }
func sqliteURI(dir string) string { return "sqlite:///" + filepath.Join(dir, "mlflow.db") }

var backends = []struct {
	name string
	uri  func(string) string
}{{"file", fileURI}, {"sqlite", sqliteURI}}

// BenchmarkLogMetric logs one metric point per call, as log_metric does.
func BenchmarkLogMetric(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			run := openRun(b, be.uri)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if err := run.LogMetric(ctx, "loss", float64(i)*0.001, mlrun.WithStep(int64(i)), mlrun.WithTimestamp(1700000000000)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkLogBatch1000 logs 1,000 metric points per call, as log_batch
// does; b.N counts batches.
func BenchmarkLogBatch1000(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			run := openRun(b, be.uri)
			ctx := context.Background()
			batch := make([]store.Metric, 1000)
			step := int64(0)
			for b.Loop() {
				for i := range batch {
					batch[i] = store.Metric{Key: "loss", Value: float64(step) * 0.001, Step: step, Timestamp: 1700000000000}
					step++
				}
				if err := run.LogBatch(ctx, batch, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "points/s")
		})
	}
}
